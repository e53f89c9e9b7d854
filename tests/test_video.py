"""Video in and out (issue 33): `weaksal predict clip.mp4 --out out.mp4`, frames resumable,
rgba as PNG frames, and a temporal smoothing whose effect is measured."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import weaksal
from weaksal.api.video import predict_video
from weaksal.cli import app

pytestmark = pytest.mark.data
FRAMES, SIZE = 12, (96, 128)  # (height, width)


@pytest.fixture(scope="module")
def clip(real_data, tmp_path_factory):
    """A short MP4 made from two real ECSSD photos: a slow pan across each."""
    from weaksal.data.imageio import read_image

    photos = [read_image(real_data / "ECSSD" / "images" / f"{s}.jpg") for s in ("0001", "0002")]
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, SIZE[::-1])
    for index in range(FRAMES):
        photo = photos[index * 2 // FRAMES]
        x = 4 * (index % (FRAMES // 2))
        frame = cv2.resize(photo[:, x : x + photo.shape[1] - 40], SIZE[::-1])
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _frames(path) -> list[np.ndarray]:
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_predict_writes_a_video_of_the_same_length_and_resumes_by_frame(clip, tmp_path):
    out = tmp_path / "overlay.mp4"
    args = ["predict", str(clip), "--model", "mr", "--type", "overlay", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frames = _frames(out)
    assert len(frames) == FRAMES and frames[0].shape == (*SIZE, 3)
    folder = tmp_path / ".overlay.mp4.frames"
    for name in ("frame_000004.png", "frame_000010.png"):
        (folder / name).unlink()
    out.unlink()
    report = predict_video(weaksal.load("mr"), clip, out, "overlay")
    assert (report.frames, report.done, report.kept) == (FRAMES, 2, FRAMES - 2)
    assert len(_frames(out)) == FRAMES


def test_smoothing_steadies_the_maps_and_rgba_keeps_its_alpha_as_png_frames(clip, tmp_path):
    mr = weaksal.load("mr")
    plain = predict_video(mr, clip, tmp_path / "plain", "map")
    smooth = predict_video(mr, clip, tmp_path / "smooth", "map", smooth=0.6)
    assert plain.change == pytest.approx(plain.change_raw)  # no smoothing: as computed
    assert smooth.change_raw == pytest.approx(plain.change_raw)
    assert smooth.change < 0.7 * plain.change  # measured on these frames, not assumed
    cut = predict_video(mr, clip, tmp_path / "rgba", "rgba")
    from PIL import Image

    first = np.asarray(Image.open(cut.out / "frame_000001.png"))
    assert cut.done == FRAMES and first.shape == (*SIZE, 4)
    with pytest.raises(weaksal.WeaksalError, match="no alpha"):
        predict_video(mr, clip, tmp_path / "rgba.mp4", "rgba")
