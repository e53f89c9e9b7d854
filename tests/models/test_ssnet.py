"""SSNet's networks: shapes of both stages and decoders, Eq. 1 of the SAM, and model files."""

from __future__ import annotations

import pytest
import torch

from weaksal.models import create_model, load_model, makes_saliency_from_rgb, save_model
from weaksal.models.ssnet import SaliencyAggregation

CLASSES = ["apple", "zebra", "kite"]


def _spec(architecture, decoder="paper", size=64):
    return {
        "architecture": architecture,
        "backbone": "efficientnet_lite0",
        "decoder": decoder,
        "decoder_width": 16,
        "input_size": size,
        "classes": CLASSES,
    }


@pytest.mark.parametrize(
    "architecture, decoder",
    [("ssnet1", "paper"), ("ssnet2", "paper"), ("ssnet1", "fpn"), ("ssnet2", "unet")],
)
def test_saliency_at_the_input_size_segmentation_at_the_layouts_resolution(architecture, decoder):
    torch.manual_seed(0)
    model = create_model(_spec(architecture, decoder), pretrained="none").eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 64))
    side = 64 if decoder == "paper" else 16  # the decoders' stride 4
    assert out.segmentation.shape == (2, 4, side, side)
    assert out.saliency.shape == (2, 1, 64, 64)
    assert out.classes.shape == (2, 3)
    assert (out.coarse_classes is not None) == (architecture == "ssnet1" or decoder != "paper")
    assert torch.isfinite(out.saliency).all()


def test_saliency_is_eq1_the_score_weighted_sum_of_class_probabilities():
    segmentation = torch.randn(2, 4, 5, 6)
    scores = torch.tensor([[0.9, 0.2, 0.5, 1.0], [0.0, 1.0, 1.0, 1.0]])
    saliency = SaliencyAggregation.aggregate(segmentation, scores)
    probabilities = segmentation.softmax(1)
    expected = sum(scores[:, c, None, None] * probabilities[:, c] for c in (1, 2, 3))
    assert torch.allclose(saliency[:, 0], expected, atol=1e-6)
    # all class scores 1: saliency is 1 - P(background)
    assert torch.allclose(saliency[1, 0], 1 - probabilities[1, 0], atol=1e-6)


def test_the_saliency_output_is_the_logit_of_s():
    torch.manual_seed(0)
    model = create_model(_spec("ssnet1"), pretrained="none").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x)
        deepest = model.encoder.forward_image(x)[-1]
        s = SaliencyAggregation.aggregate(out.segmentation, model.sam.scores(deepest))
    assert torch.allclose(torch.sigmoid(out.saliency), s, atol=1e-5)


def test_an_ssnet_file_round_trips_and_predict_accepts_it(tmp_path):
    torch.manual_seed(0)
    spec = _spec("ssnet2", "fpn")
    model = create_model(spec, pretrained="none").eval()
    save_model(tmp_path / "ssnet.safetensors", model, spec)
    loaded, full = load_model(tmp_path / "ssnet.safetensors")
    assert full["task"] == "segmentation" and full["classes"] == CLASSES
    assert makes_saliency_from_rgb(full)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x).segmentation, loaded(x).segmentation)


def test_a_spec_without_classes_is_refused():
    with pytest.raises(ValueError, match="classes"):
        create_model({**_spec("ssnet1"), "classes": []}, pretrained="none")
