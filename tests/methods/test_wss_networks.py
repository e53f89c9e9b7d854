from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from weaksal.backbones import create_backbone
from weaksal.methods.wss_networks import WSSClassifier, WSSSaliencyNet
from weaksal.models import create_model


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    classifier = WSSClassifier(
        create_backbone("efficientnet_lite0", "none", 16), num_classes=5
    ).eval()
    saliency = WSSSaliencyNet(create_backbone("efficientnet_lite0", "none", 16)).eval()
    saliency.load_stage1(classifier)
    return classifier, saliency


def test_stage1_outputs_and_relu_cap(networks):
    classifier, _ = networks
    with torch.no_grad():
        out = classifier(torch.rand(2, 3, 128, 128))
    assert out["logits"].shape == (2, 5) and out["foreground"].shape == (2, 1, 8, 8)
    assert ((out["foreground"] > 0) & (out["foreground"] < 1)).all()
    top = torch.full((1, classifier.scores[0].in_channels, 2, 2), 50.0)
    capped = F.relu(classifier.scores(top)).clamp_max(classifier.relu_cap)
    assert capped.max() <= 7.0


def test_stage2_starts_as_the_upsampled_stage1_map(networks):
    classifier, saliency = networks
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        stage1 = classifier(x)["foreground"]
        stage2 = torch.sigmoid(saliency(x))
    assert stage2.shape == (1, 1, 128, 128)
    upsampled = F.interpolate(
        torch.logit(stage1), scale_factor=16, mode="bilinear", align_corners=False
    )
    assert torch.allclose(
        stage2[..., 16:-16, 16:-16], torch.sigmoid(upsampled)[..., 16:-16, 16:-16], atol=1e-5
    )


def test_stride_is_checked_and_the_model_registry_builds_wss():
    with pytest.raises(ValueError, match="output stride 16"):
        WSSSaliencyNet(create_backbone("efficientnet_lite0", "none", 8))
    model = create_model(
        {"architecture": "wss", "backbone": "efficientnet_lite0"}, pretrained="none"
    )
    assert isinstance(model, WSSSaliencyNet)
