"""The command line as a new user meets it: single images, output types, names, help."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import weaksal
from tests.conftest import disk_mask, random_rgb, save_image
from weaksal.cli import app
from weaksal.data.imageio import read_mask

runner = CliRunner()


@pytest.fixture()
def photos(tmp_path):
    folder = tmp_path / "photos"
    for index, shape in enumerate([(45, 61), (52, 40), (30, 30)]):
        image = random_rgb(shape, index) // 3
        image[disk_mask(shape) > 0] = (230, 200, 40)
        save_image(folder / f"p{index}.png", image)
    return folder


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_predict_takes_one_image_several_images_or_a_folder(photos, tmp_path):
    result = invoke("predict", photos / "p0.png", "--model", "mr", "--out", tmp_path / "one")
    assert result.exit_code == 0, result.output  # was: "is not a folder"
    assert [p.name for p in (tmp_path / "one").glob("*.png")] == ["p0.png"]
    result = invoke(
        "predict", photos / "p0.png", photos / "p2.png", "--model", "mr", "--out", tmp_path / "two"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "two").glob("*.png")) == ["p0.png", "p2.png"]
    expected = np.round(weaksal.load("mr")(photos / "p2.png") * 255).astype(np.uint8)
    np.testing.assert_array_equal(read_mask(tmp_path / "two" / "p2.png"), expected)
    twin = save_image(tmp_path / "elsewhere" / "p0.png", random_rgb())
    result = invoke("predict", photos / "p0.png", twin, "--model", "mr", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "same name stem" in result.output


def test_output_types_render_the_same_map(photos, tmp_path):
    image = np.asarray(Image.open(photos / "p0.png"))
    saliency = weaksal.load("mr")(image)
    outputs = {}
    for kind in ("map", "mask", "rgba", "overlay"):
        result = invoke(
            "predict", photos, "--model", "mr", "--type", kind, "--out", tmp_path / kind
        )
        assert result.exit_code == 0, result.output
        outputs[kind] = np.asarray(Image.open(tmp_path / kind / "p0.png"))
    grey = np.round(saliency * 255).astype(np.uint8)
    np.testing.assert_array_equal(outputs["map"], grey)
    np.testing.assert_array_equal(outputs["mask"], np.where(saliency >= 0.5, 255, 0))
    assert outputs["rgba"].shape == (*image.shape[:2], 4)
    np.testing.assert_array_equal(outputs["rgba"][..., :3], image)
    np.testing.assert_array_equal(outputs["rgba"][..., 3], grey)
    overlay = outputs["overlay"].astype(int)
    salient = saliency > 0.9
    assert salient.any() and (overlay[salient, 0] - overlay[salient, 2]).mean() > 50  # red
    background = saliency < 0.05
    np.testing.assert_array_equal(
        overlay[background & (saliency == 0)], image[background & (saliency == 0)]
    )
    result = invoke(
        "predict",
        photos,
        "--model",
        "mr",
        "--type",
        "rgba",
        "--threshold",
        "0.3",
        "--out",
        tmp_path / "cut",
    )
    assert result.exit_code == 0, result.output
    alpha = np.asarray(Image.open(tmp_path / "cut" / "p0.png"))[..., 3]
    np.testing.assert_array_equal(alpha, np.where(saliency >= 0.3, 255, 0))


def test_a_folder_of_one_type_is_not_resumed_as_another(photos, tmp_path):
    assert invoke("predict", photos, "--model", "mr", "--out", tmp_path / "m").exit_code == 0
    result = invoke("predict", photos, "--model", "mr", "--type", "mask", "--out", tmp_path / "m")
    assert result.exit_code == 2 and "--overwrite" in result.output


def test_predict_promote_chains_lps_after_any_detector(photos, tmp_path):
    result = invoke("predict", photos, "--model", "mr", "--promote", "lps", "--out", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert "maps left as the detector made them" in result.output
    expected = weaksal.load("mr", promote="lps")(photos / "p1.png")
    np.testing.assert_array_equal(
        read_mask(tmp_path / "p" / "p1.png"), np.round(expected * 255).astype(np.uint8)
    )


def test_model_names_device_auto_and_lps_refusal(photos, tmp_path):
    result = invoke("predict", photos, "--model", "foo", "--out", tmp_path / "a")
    assert result.exit_code == 2 and "wss" in result.output and "lps" not in result.output
    result = invoke("predict", photos, "--model", "lps", "--out", tmp_path / "b")
    assert result.exit_code == 2 and "--promote lps" in result.output
    result = invoke("predict", photos, "--device", "auto", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output  # was: "'auto' is not a device name"


def test_version_help_and_models(tmp_path):
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"weaksal {weaksal.__version__}"
    result = invoke("--help")
    assert "parses arguments" not in result.output and "weak supervision" in result.output
    result = invoke("models")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("wss: ") and any(line.startswith("lps: ") for line in lines)
    assert "mr" in lines[-1] and "classical" in lines[-1]


def test_caption_reads_a_folder(photos):
    result = invoke("caption", photos)
    assert result.exit_code == 0, result.output  # was: "file does not exist"
    assert sum(line.startswith(str(photos)) for line in result.output.splitlines()) == 3


def test_bad_refine_options_are_refused_once_before_any_work(photos, tmp_path):
    maps = tmp_path / "maps"
    for stem in ("p0", "p1", "p2"):
        save_image(maps / f"{stem}.png", disk_mask((10, 10)))
    out = tmp_path / "r"
    result = invoke(
        "refine", "densecrf", "--images", photos, "--maps", maps, "--out", out, "--preset", "foo"
    )
    assert result.exit_code == 2 and result.output.count("foo") == 1
    assert "jsm, mws, ssnet" in result.output and not out.exists()
    result = invoke(
        "refine", "itercrf", "--images", photos, "--maps", maps, "--out", out, "--preset", "mws"
    )
    assert result.exit_code == 2 and "densecrf option" in result.output


@pytest.mark.slow
def test_export_takes_a_shipped_name(tmp_path):
    result = invoke("export", "onnx", "--model", "wss", "--out", tmp_path / "wss.onnx")
    assert result.exit_code == 0, result.output  # was: "wss: is not a readable safetensors"
    assert result.output.strip() == f"wrote {tmp_path / 'wss.onnx'}"
    assert (tmp_path / "wss.onnx").stat().st_size > 1_000_000


@pytest.mark.parametrize("method", ["lps", "wss"])
def test_the_command_train_prints_runs_as_printed(method, photos, tmp_path):
    """`weaksal train` ends by naming the command that uses its model; for a promoter
    that is `promote` (it was `predict`, which cannot take LPS's prior maps). Run the
    named command on real folders with the shipped model of that method."""
    import shlex

    from weaksal.api.training import next_command
    from weaksal.methods import get_method
    from weaksal.pretrained import resolve_model

    entry = get_method(method)
    role = next(iter(entry.shipped.values())).role  # the file that `train` names first
    line = next_command(entry, resolve_model(method, role))
    assert invoke("classic", "mr", "--images", photos, "--out", tmp_path / "mr").exit_code == 0
    folders = {"IMAGES": photos, "MAPS": tmp_path / "mr", "PROMOTED": tmp_path / "promoted"}
    if method == "wss":  # a detector writes its maps where the line says MAPS
        folders["MAPS"] = tmp_path / "maps"
    args = [str(folders.get(word, word)) for word in shlex.split(line)]
    assert args[0] == "weaksal"
    result = runner.invoke(app, args[1:])
    assert result.exit_code == 0, result.output
    written = tmp_path / ("promoted" if method == "lps" else "maps")
    assert sorted(p.name for p in written.glob("*.png")) == ["p0.png", "p1.png", "p2.png"]
    maps = [read_mask(p) for p in sorted(written.glob("*.png"))]
    assert [m.shape for m in maps] == [(45, 61), (52, 40), (30, 30)]
    assert all(m.max() > m.min() for m in maps)  # a map, not a constant image
