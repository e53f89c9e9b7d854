from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from weaksal.models import create_model
from weaksal.models.wss import FINSkipDecoder, WSSClassifier, load_stage1

BACKBONE = {"backbone": "efficientnet_lite0"}


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    classifier = create_model(
        {"architecture": "wss_classifier", **BACKBONE, "classes": list("abcde")}, "none"
    ).eval()
    saliency = create_model({"architecture": "wss", **BACKBONE}, "none").eval()
    load_stage1(saliency, classifier)
    return classifier, saliency


def test_stage1_outputs_and_relu_cap(networks):
    classifier, _ = networks
    assert isinstance(classifier, WSSClassifier)
    with torch.no_grad():
        out = classifier(torch.rand(2, 3, 128, 128))
    assert out.classes.shape == (2, 5) and out.coarse.shape == (2, 1, 8, 8)
    expected = F.interpolate(out.coarse, size=(128, 128), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out.saliency, expected)  # a stage-1 file is a saliency model
    top = torch.full((1, classifier.scores[0].in_channels, 2, 2), 50.0)
    capped = F.relu(classifier.scores(top)).clamp_max(classifier.relu_cap)
    assert capped.max() <= 7.0


def test_stage2_starts_as_the_upsampled_stage1_map(networks):
    classifier, saliency = networks
    assert isinstance(saliency.decoder, FINSkipDecoder)
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        stage1 = classifier(x).coarse
        stage2 = torch.sigmoid(saliency(x).saliency)
    assert stage2.shape == (1, 1, 128, 128)
    upsampled = F.interpolate(stage1, scale_factor=16, mode="bilinear", align_corners=False)
    assert torch.allclose(
        stage2[..., 16:-16, 16:-16], torch.sigmoid(upsampled)[..., 16:-16, 16:-16], atol=1e-5
    )


def test_fast_decoder_stage2_starts_from_the_stage1_backbone(networks):
    classifier, _ = networks
    fast = create_model({"architecture": "wss", **BACKBONE, "decoder": "fpn"}, "none")
    assert fast.encoder.output_stride == 32
    load_stage1(fast, classifier)
    for key, value in classifier.encoder.state_dict().items():
        assert torch.equal(fast.encoder.state_dict()[key], value)
    assert fast(torch.rand(1, 3, 64, 64)).saliency.shape == (1, 1, 64, 64)


def test_paper_decoder_checks_its_stride():
    from weaksal.backbones import create_backbone

    with pytest.raises(ValueError, match="output stride 16"):
        FINSkipDecoder(create_backbone("efficientnet_lite0", "none", 8))
