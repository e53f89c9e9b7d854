"""Model files, `weaksal predict` (torch and ONNX Runtime) and `weaksal export onnx`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from weaksal.cli import app
from weaksal.data.imageio import read_mask
from weaksal.inference.runtimes import TorchRuntime, predict_images, sigmoid, to_batch
from weaksal.models import create_model, load_model, read_spec, save_model
from weaksal.plumbing.errors import CheckpointError

SPEC = {
    "architecture": "snet",
    "backbone": "efficientnet_lite0",
    "input_size": 64,
    "freeze_bn": False,
}
TASK_CONTRACT = {"task": "saliency", "inputs": "rgb", "outputs": ["saliency"]}
runner = CliRunner()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    model = create_model(SPEC, pretrained="none")
    for module in model.modules():  # non-trivial BN statistics, so eval mode matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, model, SPEC)
    return path, model.eval()


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, (h, w) in enumerate([(50, 70), (64, 64), (90, 40), (33, 101), (80, 80)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            folder / f"p{index}.png"
        )
    return folder


def test_model_file_round_trip_and_half_precision(model_file, tmp_path):
    path, model = model_file
    loaded, spec = load_model(path)
    assert spec == {**SPEC, **TASK_CONTRACT, "decoder": "paper", "decoder_width": 64, "format": 2}
    assert not loaded.training
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x).saliency, model(x).saliency)
    half = tmp_path / "half.safetensors"
    save_model(half, model, SPEC, half=True)
    assert half.stat().st_size < 0.6 * path.stat().st_size
    with torch.no_grad():
        assert torch.allclose(load_model(half)[0](x).saliency, model(x).saliency, atol=0.05)


def test_model_file_errors_name_the_file(tmp_path, model_file):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        read_spec(junk)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="no weaksal model spec"):
        load_model(foreign)


def test_predict_writes_maps_at_original_size_resumes_and_reports_failures(
    model_file, photos, tmp_path
):
    path, model = model_file
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    out = tmp_path / "maps"
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(path),
            "--images",
            str(photos),
            "--out",
            str(out),
            "--batch-size",
            "2",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "5 written" in result.output and "broken.jpg" in result.output
    for image_file in sorted(photos.glob("p*.png")):
        image = np.asarray(Image.open(image_file).convert("RGB"))
        written = read_mask(out / image_file.name)
        assert written.shape == image.shape[:2]
        expected = predict_images(TorchRuntime(model), [image], 64)[0]
        assert np.abs(written.astype(float) - expected * 255).max() <= 0.5 + 1e-6
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (photos / "broken.jpg").unlink()
    again = runner.invoke(
        app, ["predict", "--model", str(path), "--images", str(photos), "--out", str(out)]
    )
    assert again.exit_code == 0 and "0 written, 5 kept" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_predict_shards_like_torchrun(model_file, photos, tmp_path, monkeypatch):
    path, _ = model_file
    written = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        out = tmp_path / f"rank{rank}"
        result = runner.invoke(
            app, ["predict", "--model", str(path), "--images", str(photos), "--out", str(out)]
        )
        assert result.exit_code == 0 and f"shard {rank + 1}/2" in result.output
        written.append(sorted(p.stem for p in out.glob("*.png")))
    assert written == [["p0", "p2", "p4"], ["p1", "p3"]]


def test_onnx_export_matches_pytorch(model_file, photos, tmp_path):
    path, model = model_file
    onnx_file = tmp_path / "tiny.onnx"
    result = runner.invoke(app, ["export", "onnx", "--model", str(path), "--out", str(onnx_file)])
    assert result.exit_code == 0, result.output
    # the exporter's torchvision-registration warnings and torch's FutureWarning stay quiet
    assert result.output.strip() == f"wrote {onnx_file}"
    from weaksal.inference.runtimes import OnnxRuntime

    batch = to_batch(
        [np.asarray(Image.open(p).convert("RGB")) for p in sorted(photos.iterdir())], 64
    )
    onnx_logits = OnnxRuntime(onnx_file).logits(batch)  # batch of 5: the batch axis is dynamic
    torch_logits = TorchRuntime(model).logits(batch)
    assert onnx_logits.shape == (5, 1, 64, 64)
    assert np.abs(onnx_logits - torch_logits).max() < 1e-4
    assert np.abs(sigmoid(onnx_logits) - sigmoid(torch_logits)).max() < 1e-5
    out_torch, out_onnx = tmp_path / "t", tmp_path / "o"
    runner.invoke(
        app, ["predict", "--model", str(path), "--images", str(photos), "--out", str(out_torch)]
    )
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(onnx_file),
            "--runtime",
            "onnx",
            "--images",
            str(photos),
            "--out",
            str(out_onnx),
        ],
    )
    assert result.exit_code == 0, result.output
    out_auto = tmp_path / "auto"  # an .onnx file picks ONNX Runtime without --runtime
    result = runner.invoke(
        app, ["predict", str(photos), "--model", str(onnx_file), "--out", str(out_auto)]
    )
    assert result.exit_code == 0, result.output
    for map_file in out_onnx.glob("*.png"):
        assert np.array_equal(read_mask(map_file), read_mask(out_auto / map_file.name))
    for map_file in out_torch.glob("*.png"):
        difference = read_mask(map_file).astype(int) - read_mask(out_onnx / map_file.name).astype(
            int
        )
        assert np.abs(difference).max() <= 1


def test_onnx_runtime_needs_an_onnx_file(model_file, photos, tmp_path):
    path, _ = model_file
    result = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(path),
            "--runtime",
            "onnx",
            "--images",
            str(photos),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "weaksal export onnx" in result.output
