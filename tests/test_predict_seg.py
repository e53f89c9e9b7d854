"""``weaksal predict --task seg``: palette PNGs of class indices and a legend, from a model file."""

from __future__ import annotations

import csv

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import random_rgb, save_image
from weaksal.cli import app
from weaksal.data.voc import read_label_map
from weaksal.inference.runtimes import segment_images
from weaksal.models import create_model, load_model, save_model

runner = CliRunner()
SPEC = {
    "architecture": "ssnet2",
    "backbone": "efficientnet_lite0",
    "decoder": "fpn",
    "decoder_width": 16,
    "input_size": 64,
    "classes": ["apple", "zebra, plains"],
    "method": "ssnet",
}


def _predict(model, images, out, *task):
    return runner.invoke(
        app, ["predict", "--model", str(model), "--images", str(images), "--out", str(out), *task]
    )


def _model_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "ssnet.safetensors"
    save_model(path, create_model(SPEC, "none"), SPEC)
    return path


def test_seg_writes_the_argmax_as_palette_pngs_and_a_legend(tmp_path):
    model_file = _model_file(tmp_path)
    for i in range(3):
        save_image(tmp_path / "images" / f"p{i}.jpg", random_rgb((40, 56), seed=i))
    out = tmp_path / "out"
    result = _predict(model_file, tmp_path / "images", out, "--task", "seg")
    assert result.exit_code == 0, result.output
    assert Image.open(out / "p0.png").mode == "P"
    written = read_label_map(out / "p1.png")
    model, _ = load_model(model_file)
    image = np.asarray(Image.open(tmp_path / "images" / "p1.jpg").convert("RGB"))
    (expected,) = segment_images(model, [image], 64)
    assert written.shape == (40, 56) and np.array_equal(written, expected)
    with open(out / "legend.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["index", "name", "colour"]
    assert rows[1:] == [
        ["0", "background", "#000000"],
        ["1", "apple", "#800000"],
        ["2", "zebra, plains", "#008000"],
    ]
    again = _predict(model_file, tmp_path / "images", out)
    # saliency into the segmentation folder: refused, not mixed
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_seg_from_a_saliency_model_is_a_one_line_error(tmp_path):
    save_image(tmp_path / "images" / "p.jpg", random_rgb((40, 56)))
    result = _predict("wss", tmp_path / "images", tmp_path / "out", "--task", "seg")
    assert result.exit_code == 2
    assert "gives no segmentation" in result.output and "Traceback" not in result.output
