"""The WSS iterative superpixel CRF: it improves degraded ground truth on real images, falls back
to the thresholded map, is deterministic, and starts border superpixels as background."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from weaksal.classic.superpixels import region_graph
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.metrics import SaliencyEvaluator
from weaksal.refine.iterative_crf import initial_labels, iterative_crf

ECSSD_EVERY = 83  # 12 images spread over ECSSD's 1000: 0001, 0084, ..., 0914


def degraded_ground_truth(gt: np.ndarray, seed: int) -> np.ndarray:
    """A coarse map like a weakly supervised network's: blurred, 1/8 resolution, noisy.

    Float in [0, 1]. Blur sigma is 5% of the longer side; the noise (sigma 0.25) is added at
    1/8 resolution, so it comes back as blotches rather than pixel noise.
    """
    rng = np.random.default_rng(seed)
    height, width = gt.shape
    blurred = cv2.GaussianBlur(gt.astype(np.float32) / 255.0, (0, 0), 0.05 * max(height, width))
    small = cv2.resize(blurred, (width // 8, height // 8), interpolation=cv2.INTER_AREA)
    small += rng.normal(0.0, 0.25, small.shape).astype(np.float32)
    return np.clip(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def disc_scene(height: int = 96, width: int = 128, seed: int = 0):
    """An orange disc on a textured blue-grey background, its mask, and a shifted coarse map."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    inside = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (height / 4) ** 2
    background = np.stack([60 + 0.3 * xx, 90 + 0.2 * yy, 140 + 0 * xx], axis=-1)
    image = np.where(inside[..., None], np.array([230.0, 140.0, 40.0]), background)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    coarse = cv2.GaussianBlur(np.roll(inside, 4, axis=1).astype(np.float32), (0, 0), 6)
    return image, inside, coarse


def evaluate(pairs) -> dict:
    evaluator = SaliencyEvaluator(maxf="pooled", structure=False)
    for pred, gt in pairs:
        evaluator.step(pred, gt)
    return evaluator.results()


@pytest.mark.data
def test_refines_degraded_ground_truth_on_real_images(real_data):
    samples = list(index_saliency(real_data / "ECSSD"))[::ECSSD_EVERY][:12]
    coarse_pairs, refined_pairs = [], []
    for seed, sample in enumerate(samples):
        image, gt = read_image(sample.image), read_mask(sample.mask)
        coarse = degraded_ground_truth(gt, seed)
        refined = iterative_crf(image, coarse)
        assert refined.dtype == np.uint8 and refined.shape == gt.shape
        assert set(np.unique(refined)) <= {0, 255}
        coarse_pairs.append(((coarse * 255).round().astype(np.uint8), gt))
        refined_pairs.append((refined, gt))
    before, after = evaluate(coarse_pairs), evaluate(refined_pairs)
    # Measured (pooled): coarse max-F 0.8499, MAE 0.1417; refined max-F 0.8780, MAE 0.0554
    # (thresholded coarse: 0.8366, 0.0742). Two of the 12 (small objects, 5-7% of the image)
    # fall back to the thresholded map: 0499 starts with 4 foreground superpixels, and in 0582
    # the foreground shrinks below the 5 a GMM needs.
    assert after["mae"] < before["mae"] - 0.04
    assert after["maxf"] > before["maxf"] + 0.01


def test_disc_is_recovered_from_a_shifted_blurred_map():
    image, inside, coarse = disc_scene()
    refined = iterative_crf(image, coarse) > 0
    iou_refined = (refined & inside).sum() / (refined | inside).sum()
    thresholded = coarse > 0.65
    iou_thresholded = (thresholded & inside).sum() / (thresholded | inside).sum()
    assert iou_refined > 0.95 > iou_thresholded


def test_deterministic():
    image, _, coarse = disc_scene(seed=3)
    first = iterative_crf(image, coarse)
    np.testing.assert_array_equal(first, iterative_crf(image, coarse))
    np.testing.assert_array_equal(first, iterative_crf(image.copy(), coarse.copy()))


def test_low_resolution_uint8_coarse_map_is_resized_to_the_image():
    image, inside, coarse = disc_scene()
    small = cv2.resize((coarse * 255).astype(np.uint8), (32, 24), interpolation=cv2.INTER_AREA)
    refined = iterative_crf(image, small) > 0
    assert refined.shape == inside.shape
    assert (refined & inside).sum() / (refined | inside).sum() > 0.9


def test_almost_empty_map_falls_back_to_the_thresholded_input():
    image, _, _ = disc_scene()
    coarse = np.zeros(image.shape[:2], np.float32)
    coarse[40:44, 60:64] = 0.9  # one small spot: fewer than 6 superpixels start as foreground
    refined = iterative_crf(image, coarse)
    expected = ((coarse > 0.65) * 255).astype(np.uint8)
    assert expected.any()
    np.testing.assert_array_equal(refined, expected)


def test_border_superpixels_start_as_background_even_when_fully_salient():
    # A 6 x 6 grid of 8 x 8 superpixels; the coarse map is salient everywhere except in
    # superpixel (2, 3), which is 3/4 below threshold, and (3, 2), which is 1/4 below.
    labels = (np.arange(48)[:, None] // 8) * 6 + np.arange(48)[None, :] // 8
    image = np.full((48, 48, 3), 128, np.uint8)
    coarse = np.ones((48, 48), np.float32)
    coarse[16:22, 24:32] = 0.2
    coarse[24:26, 16:24] = 0.2
    graph = region_graph(image, labels)
    start = initial_labels(graph, coarse, threshold=0.65).reshape(6, 6)
    expected = np.zeros((6, 6), bool)
    expected[1:5, 1:5] = True  # interior only: the whole border ring starts as background
    expected[2, 3] = False  # only a quarter of its pixels above threshold
    np.testing.assert_array_equal(start, expected)
