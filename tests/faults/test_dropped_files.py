"""Faults: every entry a run does not read is named with the reason (issue 15, defect 10)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import make_pairs
from weaksal.cli import app
from weaksal.data.layouts import index_images, index_saliency

runner = CliRunner()


def _odd_entries(folder):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "anim.gif")
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")
    os.symlink(folder / "loop_b.jpg", folder / "loop_a.jpg")
    os.symlink(folder / "loop_a.jpg", folder / "loop_b.jpg")
    (folder / "notes.txt").write_text("x")


def test_an_image_folder_names_each_entry_it_leaves_out(tmp_path):
    root = make_pairs(tmp_path / "d", "images", "masks", ["a", "b"])
    _odd_entries(root / "images")
    index = index_saliency(root)
    assert index.stems() == ["a", "b"]
    reasons = {entry.path.name: entry.reason for entry in index.unused()}
    assert "not an image type weaksal reads (.gif" in reasons["anim.gif"]
    assert reasons["dangling.jpg"] == "a symbolic link whose target is missing"
    assert reasons["loop_a.jpg"] == reasons["loop_b.jpg"] == "a symbolic link loop"
    assert "(.txt" in reasons["notes.txt"]


def test_data_check_fails_on_dropped_files_and_lists_them(tmp_path):
    root = make_pairs(tmp_path / "d", "images", "masks", ["a", "b"])
    _odd_entries(root / "masks")
    result = runner.invoke(app, ["data", "check", str(root), "--workers", "1"])
    assert result.exit_code == 1
    for name in ("anim.gif", "dangling.jpg", "loop_a.jpg", "notes.txt"):
        assert f"not used: {root / 'masks' / name}" in result.output


def test_a_hidden_file_is_listed_but_not_a_problem(tmp_path):
    root = make_pairs(tmp_path / "d", "images", "masks", ["a"])
    (root / "images" / ".DS_Store").write_bytes(b"\0")
    result = runner.invoke(app, ["data", "check", str(root), "--workers", "1"])
    assert result.exit_code == 0 and "a hidden file" in result.output


def test_classic_names_the_entries_it_will_not_read(tmp_path):
    root = make_pairs(tmp_path / "d", "images", "masks", ["a"])
    _odd_entries(root / "images")
    result = runner.invoke(
        app, ["classic", "ft", "--images", str(root / "images"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0 and "1 written" in result.output
    assert "anim.gif" in result.output and "dangling.jpg" in result.output
    assert [s.stem for s in index_images(root / "images")] == ["a"]


def test_eval_names_prediction_files_it_cannot_read(tmp_path):
    root = make_pairs(tmp_path / "gt", "images", "masks", ["a"])
    pred = tmp_path / "pred"
    pred.mkdir()
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(pred / "a.png")
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(pred / "b.gif")
    result = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(root)])
    assert result.exit_code == 0, result.output
    assert f"not used {pred / 'b.gif'}" in " ".join(result.output.split())
