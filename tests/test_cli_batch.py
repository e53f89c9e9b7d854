"""``weaksal classic`` and ``weaksal refine``: outputs, resumption, failures by name."""

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.refine.helpers import synthetic_scene
from weaksal.cli import app
from weaksal.data import read_mask

runner = CliRunner()


def _images(folder, count=3):
    image, mask = synthetic_scene()
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.roll(image, 7 * i, axis=1)).save(folder / f"im{i}.png")
    return mask


def test_classic_writes_resumes_and_names_failures(tmp_path):
    mask = _images(tmp_path / "images")
    (tmp_path / "images" / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "sr"
    result = runner.invoke(
        app, ["classic", "sr", "--images", str(tmp_path / "images"), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert (
        "3 written, 0 kept" in result.output
        and "1 failed" in result.output
        and "broken" in result.output
    )
    saliency = read_mask(out / "im0.png")
    assert saliency.shape == mask.shape and saliency[mask > 0].mean() > saliency[mask == 0].mean()
    (tmp_path / "images" / "broken.jpg").unlink()
    before = (out / "im1.png").stat().st_mtime_ns
    result = runner.invoke(
        app, ["classic", "sr", "--images", str(tmp_path / "images"), "--out", str(out)]
    )
    assert result.exit_code == 0 and "0 written, 3 kept" in result.output
    assert (out / "im1.png").stat().st_mtime_ns == before


def test_refine_pairs_maps_by_stem_and_reports_the_unpaired(tmp_path):
    _images(tmp_path / "images")
    runner.invoke(
        app, ["classic", "mr", "--images", str(tmp_path / "images"), "--out", str(tmp_path / "mr")]
    )
    (tmp_path / "mr" / "im2.png").unlink()
    result = runner.invoke(
        app,
        [
            "refine",
            "densecrf",
            "--images",
            str(tmp_path / "images"),
            "--maps",
            str(tmp_path / "mr"),
            "--out",
            str(tmp_path / "crf"),
        ],
    )
    assert result.exit_code == 1, result.output  # im2 has no map: work not done
    assert "im2" in result.output and "2 written" in result.output
    assert set(np.unique(read_mask(tmp_path / "crf" / "im0.png"))) <= {0, 255}
    result = runner.invoke(
        app,
        [
            "refine",
            "densecrf",
            "--images",
            str(tmp_path / "images"),
            "--maps",
            f"{tmp_path / 'mr'},{tmp_path / 'mr'}",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "only mr combines" in result.output
