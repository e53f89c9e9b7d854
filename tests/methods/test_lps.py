"""LPS: sub-pixel upsampling, anchors, the nearest-anchor classifier, iterative testing, promote."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from typer.testing import CliRunner

from weaksal.api.promote import Promoter, promote_folder
from weaksal.cli import app
from weaksal.data.datasets import resize_square
from weaksal.data.imageio import read_prediction
from weaksal.methods.lps.pipeline import _detector_errors, detector_like_prior, flipped_prior
from weaksal.models import create_model, save_model
from weaksal.models.lps import LPSNet, resize_prior
from weaksal.nn.heads import SubPixelUpsample

SPEC = {"architecture": "lps", "backbone": "efficientnet_lite0", "input_size": 64}


def tiny_lps(region: str = "conv", seed: int = 0) -> LPSNet:
    torch.manual_seed(seed)
    model = create_model({**SPEC, "region": region, "embed_dim": 32}, pretrained="none")
    for module in model.modules():  # non-trivial BN statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def test_subpixel_upsample_starts_as_nearest_neighbour():
    torch.manual_seed(0)
    layer = SubPixelUpsample(5, 3, 4).eval()
    x = torch.randn(2, 5, 6, 7)
    out = layer(x)
    assert out.shape == (2, 3, 24, 28)
    coarse = out[:, :, ::4, ::4]
    assert torch.allclose(out, F.interpolate(coarse, scale_factor=4, mode="nearest"), atol=1e-6)
    assert not torch.allclose(out[:, 0], out[:, 1])  # channels stay distinct


@pytest.mark.parametrize("region", ["conv", "fc"])
def test_anchors_are_per_image_so_a_batch_equals_single_images(region):
    model = tiny_lps(region)
    x, prior = torch.rand(3, 3, 64, 64), torch.rand(3, 1, 64, 64)
    with torch.no_grad():
        batch = model(x, prior).saliency
        single = torch.cat([model(x[i : i + 1], prior[i : i + 1]).saliency for i in range(3)])
        other = model(torch.cat([x[:1], torch.rand(2, 3, 64, 64)]), prior).saliency
    assert batch.shape == (3, 1, 64, 64)
    assert torch.allclose(batch, single, atol=1e-4)
    assert torch.allclose(other[0], batch[0], atol=1e-4)  # neighbours do not move image 0


def test_classifier_is_the_softmax_over_minus_euclidean_distances():
    model = tiny_lps()
    x = torch.rand(2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, 16:48, 8:40] = 1.0
    with torch.no_grad():
        pixels, regions = model.embed(x)
        anchors = model.anchors(regions, mask)
        probability = torch.sigmoid(model.classify(pixels, anchors))
    small = resize_prior(mask, tuple(regions.shape[-2:]))[:, 0]
    for n in range(2):
        features = regions[n].flatten(1).T  # (h*w, D)
        weights = small[n].flatten()
        expected_fg = (weights[:, None] * features).sum(0) / weights.sum()
        expected_bg = ((1 - weights)[:, None] * features).sum(0) / (1 - weights).sum()
        assert torch.allclose(anchors[n, 0], expected_fg, atol=1e-4)
        assert torch.allclose(anchors[n, 1], expected_bg, atol=1e-4)
        distances = torch.cdist(pixels[n].flatten(1).T, anchors[n])  # (h*w, 2)
        expected = torch.softmax(-distances, dim=1)[:, 0].reshape(probability.shape[-2:])
        assert torch.allclose(probability[n, 0], expected, atol=1e-4)


def test_fc_region_embedding_maps_the_region_mean_of_the_5c_map():
    model = tiny_lps("fc")
    x, prior = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        _, joint = model.embed(x)
        anchors = model.anchors(joint, prior)
        weights = resize_prior(prior, tuple(joint.shape[-2:]))[0, 0].flatten()
        mean_fg = (joint[0].flatten(1) * weights).sum(1) / weights.sum()
        assert joint.shape[1] == 5 * 64
        assert torch.allclose(anchors[0, 0], model.region_embedding(mean_fg), atol=1e-4)


def test_iterative_testing_follows_eq5():
    model = tiny_lps()
    x, prior = torch.rand(2, 3, 64, 64), torch.rand(2, 1, 64, 64)
    history = []
    result = model.promote(x, prior, 3, history=history)
    assert len(history) == 4 and torch.equal(result, history[-1])
    assert torch.allclose(history[0], resize_prior(prior, (32, 32)))
    with torch.no_grad():
        pixels, regions = model.embed(x)

        def z(y):
            return torch.sigmoid(model.classify(pixels, model.anchors(regions, y)))

        y1 = z(history[0])  # Y(1) = Z(0): the prior is replaced
        y2 = (y1 + z(y1)) / 2
        y3 = (2 * y2 + z(y2)) / 3
    for got, want in zip(history[1:], (y1, y2, y3), strict=True):
        assert torch.allclose(got, want, atol=1e-5)
    assert torch.equal(model.promote(x, prior, 0), history[0])


def test_binary_regions_threshold_the_prior_and_fall_back_when_empty():
    model = tiny_lps()
    x = torch.rand(2, 3, 64, 64)
    prior = torch.rand(2, 1, 64, 64) * 0.4  # nothing above 0.5
    prior[0, :, 10:40, 10:40] = 0.9
    binary = model.promote(x, prior, 1, regions="binary")
    soft = model.promote(x, prior, 1, regions="soft")
    thresholded = model.promote(x, (resize_prior(prior, (32, 32)) > 0.5).float(), 1)
    assert torch.allclose(binary[0], thresholded[0], atol=1e-5)
    assert torch.allclose(binary[1], soft[1], atol=1e-5)  # empty region: soft weights
    assert (binary[0] - soft[0]).abs().max() > 1e-5  # the threshold changed the anchors


def test_flipped_prior_flips_about_p_and_splits_across_ranks():
    masks = torch.zeros(8, 1, 64, 64)
    masks[:, :, :32] = 1.0
    full = flipped_prior(masks, 0.05, torch.Generator().manual_seed(3))
    assert abs((full != masks).float().mean().item() - 0.05) < 0.005
    shares = [
        flipped_prior(masks[r::2], 0.05, torch.Generator().manual_seed(3), r, 2) for r in range(2)
    ]
    assert torch.equal(shares[0], full[0::2]) and torch.equal(shares[1], full[1::2])
    assert torch.equal(flipped_prior(masks, 0.0, torch.Generator()), masks)


def _square_masks(n: int = 8) -> torch.Tensor:
    masks = torch.zeros(n, 1, 64, 64)
    masks[:, :, 16:48, 16:48] = 1.0
    return masks


def test_detector_like_priors_keep_the_object_roughly_and_split_across_ranks():
    masks = _square_masks()
    clean = detector_like_prior(masks, 0.0, 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(clean, masks)  # share 0, p 0: the mask itself
    priors = detector_like_prior(masks, 1.0, 0.0, torch.Generator().manual_seed(1))
    assert priors.shape == masks.shape and priors.min() >= 0.0 and priors.max() <= 1.0
    assert (priors != masks).any(dim=(1, 2, 3)).float().mean() >= 0.75  # most images changed
    inside = priors[:, :, 16:48, 16:48].mean(dim=(1, 2, 3))
    outside = (priors.sum(dim=(1, 2, 3)) - inside * 32 * 32) / (64 * 64 - 32 * 32)
    assert (inside > outside).float().mean() >= 0.75  # still mostly a map of the object
    shares = [
        detector_like_prior(masks[r::2], 1.0, 0.05, torch.Generator().manual_seed(4), r, 2)
        for r in range(2)
    ]
    full = detector_like_prior(masks, 1.0, 0.05, torch.Generator().manual_seed(4))
    assert torch.equal(shares[0], full[0::2]) and torch.equal(shares[1], full[1::2])


def test_each_detector_error_does_what_it_says():
    mask = _square_masks(1)
    none = torch.ones(16)  # every draw 1: no error applies
    assert torch.equal(_detector_errors(mask, none), mask)
    grow = none.clone()
    grow[0], grow[1], grow[2] = 0.0, 1.0, 0.0  # boundary, 6% of 64 -> 7x7 max-pool: +3 pixels
    assert _detector_errors(mask, grow).sum() == 38 * 38
    shrink = grow.clone()
    shrink[2] = 1.0
    assert _detector_errors(mask, shrink).sum() == 26 * 26
    hole = none.clone()
    hole[3], hole[4], hole[5] = 0.0, 0.5, 0.0  # a disc of 0.3 x the object's radius removed
    holed = _detector_errors(mask, hole)
    assert 0 < (mask - holed).sum() < 0.2 * mask.sum() and (holed <= mask).all()
    blob = none.clone()
    blob[6], blob[7], blob[8], blob[10] = 0.0, 0.05, 0.05, 1.0  # full-strength blob at a corner
    assert _detector_errors(mask, blob)[0, 0, 3, 3] > 0.9
    soft = none.clone()
    soft[11] = 0.0
    blurred = _detector_errors(mask, soft)
    assert 0.1 < blurred[0, 0, 32, 16] < 0.9 and blurred[0, 0, 32, 32] > 0.99
    flat = none.clone()
    flat[13], flat[14], flat[15] = 0.0, 1.0, 1.0  # range compressed to [0.3, 0.6]
    squeezed = _detector_errors(mask, flat)
    assert torch.allclose(squeezed.unique(), torch.tensor([0.3, 0.6]))


@pytest.fixture()
def promote_setup(tmp_path):
    rng = np.random.default_rng(0)
    images, priors = tmp_path / "images", tmp_path / "priors"
    images.mkdir()
    priors.mkdir()
    sizes = {"a": (50, 70), "b": (64, 64), "c": (90, 40), "d": (30, 30)}
    for stem, (h, w) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            images / f"{stem}.jpg"
        )
    Image.fromarray(rng.integers(0, 256, (25, 35), dtype=np.uint8)).save(priors / "a.png")
    sixteen = (rng.random((64, 64)) * 65535).astype(np.uint16)
    Image.fromarray(sixteen).save(priors / "b.png")  # 16-bit map
    Image.fromarray(rng.integers(0, 256, (90, 40), dtype=np.uint8)).save(priors / "c.jpg")
    model_file = tmp_path / "lps.safetensors"
    model = tiny_lps()
    save_model(model_file, model, {**SPEC, "region": "conv", "embed_dim": 32})
    return images, priors, model_file, sizes


def test_promote_folder_matches_by_stem_reports_missing_and_resumes(promote_setup, tmp_path):
    images, priors, model_file, sizes = promote_setup
    promoter = Promoter.from_file(model_file, iterations=2)
    report = promote_folder(promoter, images, priors, tmp_path / "out", batch_size=2)
    assert sorted(report.done) == ["a", "b", "c"] and report.missing == ["d"]
    for stem in report.done:
        written = np.asarray(Image.open(tmp_path / "out" / f"{stem}.png"))
        assert written.shape == sizes[stem] and written.dtype == np.uint8
    from weaksal.data.imageio import read_image, read_mask

    direct = promoter.maps([read_image(images / "b.jpg")], [read_mask(priors / "b.png")])[0]
    written = np.asarray(Image.open(tmp_path / "out" / "b.png")).astype(np.float32) / 255
    assert np.abs(direct - written).max() <= 1 / 255 + 1e-6
    again = promote_folder(promoter, images, priors, tmp_path / "out")
    assert sorted(again.kept) == ["a", "b", "c"] and not again.done


def test_promote_cli(promote_setup, tmp_path):
    images, priors, model_file, _ = promote_setup
    result = CliRunner().invoke(
        app,
        [
            "promote", "--model", str(model_file), "--images", str(images),
            "--prior", str(priors), "--out", str(tmp_path / "cli"), "--iters", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # an image left without a prior is not success
    assert "1 images have no prior map" in result.output and "3 written" in result.output
    gated = CliRunner().invoke(
        app,
        [
            "promote", "--model", str(model_file), "--images", str(images), "--prior",
            str(priors), "--out", str(tmp_path / "gated"), "--iters", "1", "--gate", "1.0",
        ],
    )  # fmt: skip
    assert "3 of 3 priors left as they were" in gated.output  # no map gains a certainty of 1
    assert np.array_equal(
        read_prediction(tmp_path / "gated" / "c.png"), read_prediction(priors / "c.jpg")
    )
    floored = CliRunner().invoke(
        app,
        [
            "promote", "--model", str(model_file), "--images", str(images), "--prior",
            str(priors), "--out", str(tmp_path / "floored"), "--iters", "1", "--gate", "1.0",
            "--gate-floor", "1.0",
        ],
    )  # fmt: skip
    assert "0 of 3 priors left as they were" in floored.output  # no prior is certain everywhere
    assert "the prior at least 1.0 certain" in floored.output
    both = CliRunner().invoke(
        app,
        [
            "promote", "--model", str(model_file), "--images", str(images), "--prior",
            str(priors), "--out", str(tmp_path / "x"), "--no-gate", "--gate-floor", "0.5",
        ],
    )  # fmt: skip
    assert both.exit_code == 2 and "give one of them" in both.output
    bad = CliRunner().invoke(
        app, ["predict", "--model", str(model_file), "--images", str(images), "--out", "x"]
    )
    assert bad.exit_code == 2 and "weaksal promote" in bad.output


@pytest.mark.parametrize("decoder", ["fpn", "unet"])
def test_lps_on_a_fast_decoder_embeds_its_stride_4_map(decoder):
    torch.manual_seed(0)
    model = create_model({**SPEC, "decoder": decoder, "embed_dim": 16}, pretrained="none").eval()
    x, prior = torch.rand(2, 3, 64, 64), torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        pixels, _ = model.embed(x)
        promoted = model.promote(x, prior, iterations=2)
    assert pixels.shape == (2, 16, 16, 16) and model.encoder.output_stride == 32
    assert promoted.shape == (2, 1, 16, 16) and ((promoted >= 0) & (promoted <= 1)).all()


class ConstantPromotion(torch.nn.Module):
    """An LPS stand-in whose promoted map is 0.9 everywhere (certainty 0.8)."""

    def promote(self, rgb, prior, iterations, regions, threshold, steps):
        return torch.full_like(prior, 0.9)


def test_the_gate_leaves_priors_that_lps_makes_no_more_certain():
    images = [np.zeros((20, 30, 3), np.uint8), np.zeros((12, 12, 3), np.uint8)]
    binary = np.zeros((20, 30), np.uint8)
    binary[5:15, 10:20] = 255  # certainty 1: LPS's 0.8 is a loss of 0.2
    grey = np.full((12, 12), 128, np.uint8)  # certainty 0.004: LPS gains 0.796
    open_gate = Promoter(ConstantPromotion(), 32, iterations=1)
    assert all(np.allclose(m, 0.9) for m in open_gate.maps(images, [binary, grey]))
    assert open_gate.left == [False, False]
    # gains at the network's input: the binary prior, area-resized to 32 px, has soft edges
    seen = resize_square(binary, 32).astype(np.float64) / 255.0
    binary_certainty = np.abs(2 * seen - 1).mean()
    assert 0.8 < binary_certainty < 1.0
    expected = [0.8 - binary_certainty, 0.8 - (256 / 255 - 1)]
    assert open_gate.gains == pytest.approx(expected, abs=1e-5)
    for gate, left in ((0.0, [True, False]), (-0.3, [False, False]), (0.9, [True, True])):
        promoter = Promoter(ConstantPromotion(), 32, iterations=1, gate=gate)
        maps = promoter.maps(images, [binary, grey])
        assert promoter.left == left
        for prior, one, kept in zip((binary, grey), maps, left, strict=True):
            expected = prior / 255.0 if kept else np.full(prior.shape, 0.9)
            assert np.allclose(one, expected, atol=1e-6)  # a kept prior: exactly as it was
    assert Promoter(ConstantPromotion(), 32, gate=0.1).identity()["gate"] == 0.1
    # the floor: only priors at least this certain can be kept; the grey one is always promoted
    for floor, left in ((0.0, [True, True]), (binary_certainty - 1e-3, [True, False])):
        promoter = Promoter(ConstantPromotion(), 32, iterations=1, gate=0.9, gate_floor=floor)
        promoter.maps(images, [binary, grey])
        assert promoter.left == left
        assert promoter.prior_certainty == pytest.approx([binary_certainty, 1 / 255], abs=1e-5)
    promoter = Promoter(ConstantPromotion(), 32, iterations=1, gate=0.9, gate_floor=1.0)
    promoter.maps(images, [binary, grey])
    assert promoter.left == [False, False]  # no prior is that certain at the network's size
    assert promoter.identity()["gate_floor"] == 1.0
    with pytest.raises(ValueError, match="gate_floor"):
        Promoter(ConstantPromotion(), 32, gate=0.1, gate_floor=1.5)


@pytest.mark.parametrize(
    "spec, message",
    [({"gate": "0.1"}, "not a number"), ({"gate": 0.1, "gate_floor": 1.5}, r"outside \[0, 1\]")],
)
def test_a_model_file_with_a_bad_gate_is_refused_naming_the_file(spec, message, tmp_path):
    from weaksal.plumbing.errors import CheckpointError

    model_file = tmp_path / "bad.safetensors"
    save_model(model_file, tiny_lps(), {**SPEC, "region": "conv", "embed_dim": 32, **spec})
    with pytest.raises(CheckpointError, match=message) as error:
        Promoter.from_file(model_file)
    assert str(model_file) in str(error.value)
