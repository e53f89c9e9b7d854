"""Faults: a bad input or a failing disk gives one line naming the file and the fix, exit 2 (issue 15, defect 11)."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import disk_mask, random_rgb, save_image
from tests.faults.helpers import photos, tiny_model
from weaksal.cli import app
from weaksal.plumbing.errors import CorruptFileError

runner = CliRunner()


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, (word, text)


def test_disk_full_is_named_with_the_fix(tmp_path, monkeypatch):
    import weaksal.classic.files as files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "im0.png"))

    monkeypatch.setattr(files, "write_png", full)
    images = photos(tmp_path / "images", count=1)
    result = runner.invoke(
        app, ["classic", "ft", "--images", str(images), "--out", str(tmp_path / "out")]
    )
    # a full disk stops the run at once (issue 32): one line naming the output and the fix
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert "im0" in result.output and "free disk space" in result.output


def test_disk_full_outside_a_batch_is_one_line(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "model.onnx"))

    monkeypatch.setattr("weaksal.inference.export.export_onnx", full)
    model = tiny_model(tmp_path / "m.safetensors")
    result = runner.invoke(
        app, ["export", "onnx", "--model", str(model), "--out", str(tmp_path / "model.onnx")]
    )
    _one_line_error(result, "model.onnx: No space left on device", "free disk space")


def test_eval_out_that_is_a_file_is_one_line(tmp_path):
    root = tmp_path / "gt"
    save_image(root / "images" / "a.jpg", random_rgb())
    save_image(root / "masks" / "a.png", disk_mask())
    save_image(tmp_path / "pred" / "a.png", disk_mask())
    (tmp_path / "file").write_text("x")
    result = runner.invoke(
        app,
        [
            "eval",
            "--pred",
            str(tmp_path / "pred"),
            "--gt",
            str(root),
            "--out",
            str(tmp_path / "file"),
        ],
    )
    _one_line_error(result, str(tmp_path / "file"))


def test_a_non_onnx_file_with_the_onnx_runtime(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"definitely not protobuf" * 10)
    images = photos(tmp_path / "images", count=1)
    result = runner.invoke(
        app,
        ["predict", "--model", str(fake), "--runtime", "onnx", "--images", str(images),
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    _one_line_error(result, "model.onnx: is not an ONNX file", "weaksal export onnx")


def test_refine_with_a_missing_maps_folder(tmp_path):
    images = photos(tmp_path / "images", count=1)
    result = runner.invoke(
        app,
        ["refine", "threshold", "--images", str(images), "--maps", str(tmp_path / "nope"),
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    _one_line_error(result, "nope: is not a folder")


def test_refine_with_missing_maps_is_not_a_success(tmp_path):
    images = photos(tmp_path / "images", count=2)
    save_image(tmp_path / "maps" / "im0.png", np.full((40, 56), 200, np.uint8))
    result = runner.invoke(
        app,
        ["refine", "threshold", "--images", str(images), "--maps", str(tmp_path / "maps"),
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 1 and "im1" in result.output and "1 written" in result.output


@pytest.mark.parametrize(
    "payload, words",
    [
        (
            {
                "images": [{"id": 1, "file_name": "a.jpg"}],
                "annotations": [{"image_id": 1, "caption": None}],
            },
            "annotations[0].caption is None",
        ),
        (
            {"images": [{"id": 1}], "annotations": []},
            "images[0].file_name is missing",
        ),
        (
            {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": {"0": "x"}},
            "'annotations' is a dict, not a list",
        ),
    ],
    ids=["null caption", "no file_name", "annotations a dict"],
)
def test_malformed_coco_json_is_named(tmp_path, payload, words):
    from weaksal.data.coco import index_coco

    (tmp_path / "annotations").mkdir()
    (tmp_path / "train2017").mkdir()
    save_image(tmp_path / "train2017" / "a.jpg", random_rgb())
    (tmp_path / "annotations" / "captions_train2017.json").write_text(json.dumps(payload))
    with pytest.raises(CorruptFileError, match="captions_train2017.json") as error:
        index_coco(tmp_path)
    assert words in str(error.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_on_a_machine_without_it(tmp_path):
    model = tiny_model(tmp_path / "m.safetensors")
    images = photos(tmp_path / "images", count=1)
    result = runner.invoke(
        app,
        ["predict", "--model", str(model), "--device", "cuda", "--images", str(images),
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    _one_line_error(result, "--device cuda: this machine has no CUDA GPU", "--device cpu")


def test_a_truncated_image_inside_a_training_data_loader_is_named(tmp_path):
    from weaksal.data.datasets import SaliencyDataset
    from weaksal.data.layouts import index_saliency
    from weaksal.engine.batches import step_loader

    for i in range(4):
        save_image(tmp_path / "images" / f"im{i}.jpg", random_rgb(seed=i))
        save_image(tmp_path / "masks" / f"im{i}.png", disk_mask())
    path = tmp_path / "images" / "im2.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 5])  # the header survives, the pixels do not
    dataset = SaliencyDataset(list(index_saliency(tmp_path)), 32)
    loader = step_loader(dataset, batch_size=4, seed=0, start=0, stop=1, workers=1, shuffle=False)
    with pytest.raises(CorruptFileError) as error:
        next(iter(loader))
    assert error.value.path == path
    assert "\n" not in str(error.value) and "cannot decode image" in str(error.value)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 4000, 3)], ids=["1x1", "3x4000"])
def test_mr_on_a_degenerate_image_gives_a_map(tmp_path, shape):
    images = tmp_path / "images"
    save_image(images / "odd.png", np.full(shape, 90, np.uint8))
    result = runner.invoke(
        app, ["classic", "mr", "--images", str(images), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(tmp_path / "out" / "odd.png")).shape == shape[:2]


def test_an_unreadable_file_is_not_called_corrupt(tmp_path, monkeypatch):
    import PIL.Image

    from weaksal.data.imageio import read_image

    path = save_image(tmp_path / "a.png", random_rgb())

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(PIL.Image, "open", denied)
    with pytest.raises(CorruptFileError, match="permission denied") as error:
        read_image(path)
    assert "re-download" not in str(error.value) and "chmod" in error.value.fix


def test_caption_reports_a_bad_image_and_goes_on(tmp_path):
    good = save_image(tmp_path / "good.png", random_rgb((64, 64)))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    result = runner.invoke(app, ["caption", str(bad), str(good)])
    assert result.exit_code == 1
    assert "bad.png" in result.output and f"{good}:" in result.output


def test_a_resumed_run_does_not_repeat_logged_steps(tmp_path):
    from tests.engine.test_trainer import _train

    _train(tmp_path / "run", crash_after=5)  # checkpoint at step 4, killed during step 5
    log = tmp_path / "run" / "metrics.jsonl"
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["step"] == 4
    with open(log, "a") as handle:  # the line a run killed after logging step 5 leaves
        handle.write(json.dumps({**last, "step": 5}) + "\n")
    _train(tmp_path / "run")
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines if "loss" in json.loads(line)]
    assert steps == sorted(set(steps)) and steps[-1] == 7
