"""Faults: existing outputs are kept only when the same work made them (issue 15, defect 3)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.faults.helpers import photos, tiny_model
from weaksal.cli import app
from weaksal.data.output_folder import RECORD

runner = CliRunner()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return tiny_model(folder / "a.safetensors", 0), tiny_model(folder / "b.safetensors", 1)


def _predict(model, images, out, *extra):
    return runner.invoke(
        app, ["predict", "--model", str(model), "--images", str(images), "--out", str(out), *extra]
    )


def test_output_into_the_input_folder_is_refused(tmp_path, models):
    images = photos(tmp_path / "same")
    result = _predict(models[0], images, images)
    assert result.exit_code == 2
    assert "is also an input folder" in result.output and "another --out" in result.output
    assert sorted(p.name for p in images.iterdir()) == ["im0.png", "im1.png", "im2.png"]


def test_jpeg_inputs_and_output_into_the_same_folder_is_refused(tmp_path, models):
    images = photos(tmp_path / "jpegs", suffix=".jpg")
    assert _predict(models[0], images, images).exit_code == 2
    assert not list(images.glob("*.png"))


def test_maps_of_another_model_are_not_kept(tmp_path, models):
    images, out = photos(tmp_path / "images"), tmp_path / "out"
    first = _predict(models[0], images, out)
    assert first.exit_code == 0 and "3 written" in first.output
    before = (out / "im0.png").read_bytes()
    second = _predict(models[1], images, out)
    assert second.exit_code == 2
    assert "holds maps made by" in second.output and "--overwrite" in second.output
    assert (out / "im0.png").read_bytes() == before
    third = _predict(models[1], images, out, "--overwrite")
    assert third.exit_code == 0 and "3 written, 0 kept" in third.output
    assert (out / "im0.png").read_bytes() != before
    record = json.loads((out / RECORD).read_text())
    assert record["producer"]["command"] == "predict" and record["producer"]["runtime"] == "torch"


def test_the_same_model_resumes(tmp_path, models):
    images, out = photos(tmp_path / "images"), tmp_path / "out"
    assert _predict(models[0], images, out).exit_code == 0
    (out / "im1.png").unlink()
    again = _predict(models[0], images, out)
    assert again.exit_code == 0 and "1 written, 2 kept" in again.output


def test_a_folder_of_unrecorded_images_is_refused(tmp_path, models):
    images, out = photos(tmp_path / "images"), photos(tmp_path / "elsewhere", count=1)
    result = _predict(models[0], images, out)
    assert result.exit_code == 2 and "no weaksal run recorded" in result.output


def test_an_existing_file_as_out_is_refused(tmp_path, models):
    images = photos(tmp_path / "images")
    (tmp_path / "file").write_text("x")
    result = _predict(models[0], images, tmp_path / "file")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_classic_maps_of_another_detector_are_not_kept(tmp_path):
    images, out = photos(tmp_path / "images"), tmp_path / "maps"
    args = ["--images", str(images), "--out", str(out)]
    assert runner.invoke(app, ["classic", "ft", *args]).exit_code == 0
    result = runner.invoke(app, ["classic", "sr", *args])
    assert result.exit_code == 2 and "method ft" in result.output
    assert runner.invoke(app, ["classic", "ft", *args]).output.startswith("0 written, 3 kept")


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["predict", "--batch-size", "-1"],
            "'--batch-size': Input should be greater than or equal to 1",
        ),
        (
            ["predict", "--batch-size", "0"],
            "'--batch-size': Input should be greater than or equal to 1",
        ),
        (["promote", "--iters", "-5"], "'--iters': Input should be greater than or equal to 1"),
        (
            ["promote", "--threshold", "1.5"],
            "'--threshold': Input should be less than or equal to 1",
        ),
        (
            ["classic", "mr", "--workers", "0"],
            "'--workers': Input should be greater than or equal to 1",
        ),
    ],
)
def test_invalid_numbers_are_refused_before_any_work(tmp_path, argv, words):
    images = photos(tmp_path / "images")
    extra = ["--images", str(images), "--out", str(tmp_path / "out")]
    if argv[0] == "promote":
        extra += ["--prior", str(images)]
    result = runner.invoke(app, [*argv, *extra])
    assert result.exit_code == 2 and words in " ".join(result.output.replace("│", " ").split())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "override, words",
    [
        ("engine.checkpoint_every=0", "engine.checkpoint_every' is 0, below 1"),
        ("engine.keep_checkpoints=0", "engine.keep_checkpoints' is 0, below 1"),
        ("train.batch_size=-2", "train.batch_size' is -2, below 1"),
        ("train.lr=0", "train.lr' is 0.0, not above 0.0"),
        ("model.input_size=100", "model.input_size' is 100, not a multiple of 32"),
        ("engine.precision=bf16", "not a known choice"),
    ],
)
def test_invalid_training_numbers_are_refused_before_the_first_step(tmp_path, override, words):
    from weaksal.engine.config import load_config
    from weaksal.methods import get_method
    from weaksal.plumbing.errors import ConfigError

    config = load_config(
        "configs/reference/fpn_efficientnet_lite0.yaml",
        [override],
        get_method("reference").sections,
    )
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        get_method("reference").target(config, tmp_path / "run", True)
    assert not (tmp_path / "run" / "checkpoints").exists()
