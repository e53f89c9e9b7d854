"""VGG-16(-BN), ResNet-50 and DenseNet-169 are torchvision's networks, checkpoint- and number-wise.

The reference fixture was made once from torchvision 0.28's own model code by
``fixtures/make_reference.py`` (read its docstring); these tests never import torchvision.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from torch import nn

from weaksal.backbones import BACKBONES, create_backbone
from weaksal.backbones.densenet import densenet169
from weaksal.backbones.resnet import resnet50
from weaksal.backbones.vgg import vgg16, vgg16_bn
from weaksal.plumbing.errors import WeightsUnavailableError

from .fixtures.make_reference import (
    FIXTURE,
    deterministic_state_dict,
    reference_input,
    stage_statistics,
)

BUILDERS = {"vgg16": vgg16, "vgg16_bn": vgg16_bn, "resnet50": resnet50, "densenet169": densenet169}
# spatial side of each stage's output for a 256 x 256 input
SIDES_256 = {
    ("vgg", 8): (256, 128, 64, 32, 32),
    ("vgg", 16): (256, 128, 64, 32, 16),
    ("other", 8): (128, 64, 32, 32, 32),
    ("other", 16): (128, 64, 32, 16, 16),
}


with gzip.open(FIXTURE, "rt") as _handle:
    REFERENCE = json.load(_handle)


@pytest.mark.parametrize("name", BUILDERS)
def test_state_dict_keys_and_shapes_are_torchvisions(name: str) -> None:
    with torch.device("meta"):  # shapes only: skip allocating and initialising 138M weights
        state = BUILDERS[name]().state_dict()
    expected = REFERENCE["state_dict_shapes"][name]
    assert [[key, list(t.shape)] for key, t in state.items()] == expected


def _case_id(case: dict) -> str:
    return f"{case['model']}-os{case['output_stride']}-{case['input_size']}"


@pytest.mark.parametrize("case", REFERENCE["stage_statistics"], ids=_case_id)
def test_stage_features_reproduce_torchvision(case: dict) -> None:
    """Same deterministic weights and input as the generator gave torchvision: same features."""
    model = BUILDERS[case["model"]]()
    model.load_state_dict(deterministic_state_dict(model.state_dict()), strict=True)
    model.eval()
    if case["output_stride"] < 32:
        model.make_dilated(case["output_stride"])
    with torch.no_grad():
        got = stage_statistics(model(reference_input(case["input_size"])))
    for stage, ((shape, total, magnitude), expected) in enumerate(
        zip(got, case["stages"], strict=True)
    ):
        assert shape == expected[0], f"stage {stage}"
        assert magnitude == pytest.approx(expected[2], rel=1e-4), f"stage {stage}"
        # a signed sum can nearly cancel: measure its error against the magnitude
        assert abs(total - expected[1]) <= 1e-4 * expected[2], f"stage {stage}"


@pytest.mark.parametrize("output_stride", [8, 16])
@pytest.mark.parametrize("name", BUILDERS)
def test_dilated_feature_shapes(name: str, output_stride: int) -> None:
    with torch.device("meta"):  # shape inference only; the numbers are checked above
        encoder = create_backbone(name, pretrained="none", output_stride=output_stride)
        features = encoder(torch.empty(1, 3, 256, 256))
    sides = SIDES_256["vgg" if name.startswith("vgg") else "other", output_stride]
    assert encoder.strides == tuple(min(s, output_stride) for s in encoder.base_strides)
    assert [f.shape[1] for f in features] == list(encoder.out_channels)
    assert [f.shape[2] for f in features] == [256 // s for s in encoder.strides] == list(sides)
    assert [f.shape[3] for f in features] == list(sides)


@pytest.mark.parametrize("name", BUILDERS)
def test_undilated_feature_shapes(name: str) -> None:
    with torch.device("meta"):
        encoder = create_backbone(name, pretrained="none")
        features = encoder(torch.empty(1, 3, 224, 224))
    assert encoder.strides == encoder.base_strides
    assert [tuple(f.shape[1:]) for f in features] == [
        (c, 224 // s, 224 // s)
        for c, s in zip(encoder.out_channels, encoder.base_strides, strict=True)
    ]


def _old_densenet_key(key: str) -> str:
    """Inverse of the remap: ``denselayer1.norm1.weight`` -> ``denselayer1.norm.1.weight``."""
    return re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", key)


def test_old_densenet_keys_load_strict(tmp_path: Path) -> None:
    """A file shaped like torchvision's published one: ``norm.1`` keys, no ``num_batches_tracked``.

    That file predates PyTorch 0.4.1; BatchNorm fills the missing counters on a strict load.
    """
    state = densenet169().state_dict()
    old = {
        _old_densenet_key(key): value
        for key, value in state.items()
        if not key.endswith("num_batches_tracked")
    }
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    assert "features.denseblock1.denselayer1.norm1.weight" not in old
    path = tmp_path / "densenet169-old-keys.pth"
    torch.save(old, path)

    encoder = create_backbone("densenet169", pretrained=path)
    loaded = encoder.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith("classifier.")}
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key


def test_freeze_batchnorm_survives_train() -> None:
    encoder = create_backbone("resnet50", pretrained="none", freeze_bn=True).train()
    norms = [m for m in encoder.modules() if isinstance(m, nn.BatchNorm2d)]
    before = norms[0].running_mean.clone()
    encoder(torch.rand(1, 3, 64, 64))
    assert norms and not any(m.training for m in norms)
    assert not any(p.requires_grad for m in norms for p in m.parameters())
    assert encoder.conv1.weight.requires_grad and encoder.training
    assert torch.equal(norms[0].running_mean, before)


def test_imagenet_weights_offline_error_names_url_and_cache(monkeypatch, tmp_path: Path) -> None:
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError) as error:
        create_backbone("resnet50", pretrained="imagenet")
    message = str(error.value)
    assert BACKBONES.get("resnet50").weights.url in message
    assert str(tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth") in message
