"""The user's path through `weaksal predict` (issue 33): a default output folder, standard
input and output for one image, and progress counted in images."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image
from typer.testing import CliRunner

import weaksal
from weaksal.cli import app


def _photos(folder, count=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = (rng.integers(0, 256, (36, 52, 3)) // 3).astype(np.uint8)
        image[10:26, 15:40] = (220, 190, 40)
        Image.fromarray(image).save(folder / f"p{i}.png")
    return folder


def test_predict_without_out_writes_beside_the_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _photos(tmp_path / "photos")
    result = CliRunner().invoke(app, ["predict", "photos", "--model", "mr", "--type", "rgba"])
    assert result.exit_code == 0, result.output
    assert "photos-rgba" in result.output
    written = sorted((tmp_path / "photos-rgba").glob("*.png"))
    assert [p.name for p in written] == ["p0.png", "p1.png", "p2.png"]
    assert np.asarray(Image.open(written[0])).shape == (36, 52, 4)


def test_one_image_through_standard_input_and_output(tmp_path):
    photos = _photos(tmp_path / "photos", 1)
    source = (photos / "p0.png").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "weaksal", "predict", "-", "--model", "mr", "--type", "mask"],
        input=source, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    (tmp_path / "out.png").write_bytes(done.stdout)
    mask = np.asarray(Image.open(tmp_path / "out.png"))
    image = np.asarray(Image.open(photos / "p0.png"))
    expected = weaksal.render("mask", image, weaksal.load("mr")(image))
    np.testing.assert_array_equal(mask, expected)
    empty = subprocess.run(
        [sys.executable, "-m", "weaksal", "predict", "-", "--model", "mr"],
        input=b"", capture_output=True, timeout=120,
    )  # fmt: skip
    assert empty.returncode == 2 and b"standard input is empty" in empty.stderr


def test_progress_counts_images_not_batches(tmp_path):
    photos = _photos(tmp_path / "photos", 5)
    seen = {}

    def progress(iterable, total):
        seen["total"] = total
        seen["ticks"] = 0
        for item in iterable:
            seen["ticks"] += 1
            yield item

    report = weaksal.predict_folder(
        weaksal.load("mr"), photos, tmp_path / "maps", batch_size=2, progress=progress
    )
    assert len(report.done) == 5 and seen == {"total": 5, "ticks": 5}
    mr = weaksal.load("mr")
    images = [np.asarray(Image.open(p)) for p in sorted(photos.glob("*.png"))]
    with_bar = mr(images, batch_size=2, progress=True)
    for shown, plain in zip(with_bar, mr(images), strict=True):
        np.testing.assert_array_equal(shown, plain)
