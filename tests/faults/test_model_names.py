"""A model's name is its name (issue 32, item 4): a folder called ``wss``, ``mr`` or ``lps`` in the
working directory does not shadow the shipped model or detector; a path says it is one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import weaksal
from weaksal.cli import app


@pytest.fixture()
def shadowed(tmp_path, monkeypatch):
    """A working directory holding folders named like the shipped models and a photo."""
    for name in ("wss", "mr", "lps", "mws"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("not a model")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_names_mean_the_shipped_models_whatever_folders_lie_here(shadowed):
    assert weaksal.load("mr").name == "mr" and weaksal.load("wss").name == "wss"
    assert isinstance(weaksal.load("lps"), weaksal.Promotion)
    np.testing.assert_array_equal(
        weaksal.load("mr")("x.png"), weaksal.load("mr")(str(shadowed / "x.png"))
    )


def test_predict_on_the_command_line_uses_the_shipped_model(shadowed):
    result = CliRunner().invoke(app, ["predict", "x.png", "--model", "wss", "--out", "o"])
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(shadowed / "o" / "x.png"))
    np.testing.assert_array_equal(written, np.round(weaksal.load("wss")("x.png") * 255))
    result = CliRunner().invoke(app, ["predict", "x.png", "--model", "mr", "--out", "m"])
    assert result.exit_code == 0, result.output


def test_a_path_is_a_path(shadowed):
    with pytest.raises(Exception, match="is a folder, not a model file"):
        weaksal.load("./wss")  # the folder, named as a path: not a model file
    result = CliRunner().invoke(app, ["predict", "x.png", "--model", "./wss", "--out", "o"])
    assert result.exit_code == 2 and "./wss: is a folder" in result.output
