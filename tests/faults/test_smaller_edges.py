"""The smaller edges of issue 32 (items 10 and 11): a full disk stops a classical run at the
first map, method names cannot steer where files go, and options that do nothing say so."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import disk_mask, make_pairs
from weaksal.cli import app


def _photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(
            folder / f"im{i}.png"
        )
    return folder


def test_a_full_disk_stops_classic_at_the_first_map_and_names_the_output(tmp_path, monkeypatch):
    import weaksal.classic.files as files

    calls = []

    def full_disk(path, array):
        calls.append(Path(path))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_png", full_disk)
    images, out = _photos(tmp_path / "images", 5), tmp_path / "out"
    result = CliRunner().invoke(app, ["classic", "ft", "--images", str(images), "--out", str(out)])
    assert len(calls) == 1, f"went on after the disk was full: {len(calls)} writes tried"
    assert result.exit_code == 2, result.output
    assert "No space left" in result.output and str(out) in result.output
    assert "free disk space" in result.output and str(images / "im0.png") not in result.output


def test_method_names_do_not_steer_where_files_are_written(tmp_path):
    gt = make_pairs(tmp_path / "gt", "images", "masks", ["a", "b"])
    maps = tmp_path / "maps"
    for stem in ("a", "b"):
        maps.mkdir(exist_ok=True)
        Image.fromarray(disk_mask()).save(maps / f"{stem}.png")
    out = tmp_path / "work" / "report"
    result = CliRunner().invoke(
        app,
        ["eval", "--pred", "../x=" + str(maps), "--gt", str(gt), "--out", str(out), "--per-image"],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir() if p.name.startswith("per_image"))
    assert len(written) == 1 and "/" not in written[0] and not written[0].startswith(".")
    assert written[0] == "per_image_gt__x.csv", written
    strays = [p for p in (tmp_path / "work").iterdir() if p != out]
    assert not strays, f"files outside --out: {strays}"


def test_segmentation_refuses_the_options_it_cannot_honour(tmp_path):
    images = _photos(tmp_path / "images", 1)
    runner = CliRunner()
    base = ["predict", str(images), "--model", "ssnet", "--task", "seg"]
    threshold = runner.invoke(app, [*base, "--threshold", "0.3", "--out", str(tmp_path / "a")])
    assert threshold.exit_code == 2 and "--threshold" in threshold.output, threshold.output
    onnx = runner.invoke(app, [*base, "--runtime", "onnx", "--out", str(tmp_path / "b")])
    assert onnx.exit_code == 2 and "torch runtime" in onnx.output, onnx.output
    plain = runner.invoke(app, [*base, "--out", str(tmp_path / "c")])  # the neighbour: it works
    assert plain.exit_code == 0, plain.output
    assert (tmp_path / "c" / "im0.png").exists() and (tmp_path / "c" / "legend.csv").exists()
