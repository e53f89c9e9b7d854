"""Conventions, edge cases and the formulas that PySODMetrics does not cover."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from weaksal.metrics import (
    SaliencyEvaluator,
    evaluate_arrays,
    image_scores,
    pair_stats,
    weighted_fmeasure,
)
from weaksal.metrics.conventions import as_ground_truth, as_prediction, normalisation

psm = pytest.importorskip(
    "py_sod_metrics", reason="the oracle pysodmetrics==1.6.2 is a test dependency"
)
warnings.filterwarnings("ignore", message="This class will be removed")


def blob_gt(shape=(60, 80), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gt = np.zeros(shape, np.uint8)
    for _ in range(3):
        cy, cx, r = (
            rng.integers(10, shape[0] - 10),
            rng.integers(10, shape[1] - 10),
            rng.integers(4, 12),
        )
        cv2.circle(gt, (int(cx), int(cy)), int(r), 255, -1)
    return gt


def smooth_pred(gt: np.ndarray, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = cv2.GaussianBlur(gt, (0, 0), 4).astype(float) + rng.normal(0, 25, gt.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def reference(pred, gt) -> dict:
    out = {}
    for name, metric in (
        ("mae", psm.MAE()),
        ("fm", psm.Fmeasure()),
        ("sm", psm.Smeasure()),
        ("em", psm.Emeasure()),
        ("wfm", psm.WeightedFmeasure()),
    ):
        metric.step(pred, gt)
        out[name] = metric.get_results()
    return out


@pytest.mark.parametrize(
    "case", ["empty_gt", "full_gt", "constant_pred", "empty_pred", "full_pred"]
)
def test_edge_cases_follow_the_reference(case):
    gt = blob_gt()
    pred = smooth_pred(gt)
    if case == "empty_gt":
        gt = np.zeros_like(gt)
    elif case == "full_gt":
        gt = np.full_like(gt, 255)
    elif case == "constant_pred":
        pred = np.full_like(pred, 77)
    elif case == "empty_pred":
        pred = np.zeros_like(pred)
    else:
        pred = np.full_like(pred, 255)
    ours, ref = image_scores(pred, gt), reference(pred, gt)
    assert ours["mae"] == pytest.approx(ref["mae"]["mae"], abs=1e-12)
    assert ours["smeasure"] == pytest.approx(ref["sm"]["sm"], abs=1e-12)
    assert ours["wfmeasure"] == pytest.approx(ref["wfm"]["wfm"], abs=1e-10)
    np.testing.assert_allclose(
        ours["fmeasure"]["curve"][::-1], ref["fm"]["fm"]["curve"], atol=1e-12
    )
    np.testing.assert_allclose(
        ours["emeasure"]["curve"][::-1], ref["em"]["em"]["curve"], atol=1e-12
    )
    assert ours["fmeasure"]["adaptive"] == pytest.approx(ref["fm"]["fm"]["adp"], abs=1e-12)
    assert ours["emeasure"]["adaptive"] == pytest.approx(ref["em"]["em"]["adp"], abs=1e-12)


def test_weighted_f_distance_ties_match_scipy():
    """Shapes full of equidistant foreground pixels: the nearest-pixel choice must match."""
    rng = np.random.default_rng(3)
    for trial in range(30):
        gt = np.zeros((48, 64), np.uint8)
        gt[::4, ::3] = 255 if trial % 2 else 0
        gt[rng.random(gt.shape) < 0.05] = 255
        cv2.line(gt, (0, int(rng.integers(48))), (63, int(rng.integers(48))), 255, 1)
        pred = rng.integers(0, 256, gt.shape).astype(np.uint8)
        assert image_scores(pred, gt)["wfmeasure"] == pytest.approx(
            reference(pred, gt)["wfm"]["wfm"], abs=1e-14
        )


def test_weighted_f_on_float_maps():
    gt = blob_gt(seed=5) > 128
    pred = np.random.default_rng(1).random(gt.shape)
    ref = psm.WeightedFmeasure()
    ref.step(pred, gt, normalize=False)
    assert weighted_fmeasure(pred, gt) == pytest.approx(ref.get_results()["wfm"], abs=1e-10)


def test_boolean_and_zero_one_ground_truth_are_not_read_as_background():
    gt255 = blob_gt(seed=2)
    pred = smooth_pred(gt255, seed=2)
    expected = image_scores(pred, gt255)
    for gt in (gt255 > 0, (gt255 > 0).astype(np.uint8)):
        got = image_scores(pred, gt)
        assert got["mae"] == expected["mae"] and got["smeasure"] == expected["smeasure"]
        np.testing.assert_array_equal(got["fmeasure"]["curve"], expected["fmeasure"]["curve"])
    # the trap we avoid: the reference thresholds a 0/1 mask at 128, i.e. all background
    trap = psm.MAE()
    trap.step(pred, (gt255 > 0).astype(np.uint8))
    assert trap.get_results()["mae"] != pytest.approx(expected["mae"])


def test_empty_s_measure_quadrant_is_weighted_zero_not_nan():
    """All foreground in the last column puts the centroid split on the border."""
    gt = np.zeros((30, 40), np.uint8)
    gt[5:25, 39] = 255
    pred = smooth_pred(gt, seed=4)
    ref = psm.Smeasure()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.step(pred, gt)
    assert np.isnan(ref.get_results()["sm"])  # the reference's bug, documented in conventions
    assert 0 < image_scores(pred, gt)["smeasure"] < 1


def test_kappa_is_cohens_textbook_formula():
    gt = blob_gt(seed=7)
    pred = smooth_pred(gt, seed=7)
    scores = image_scores(pred, gt)
    normalised = normalisation(pred).value[pred]
    truth = as_ground_truth(gt).ravel()
    assert scores["kappa"]["binary"] == pytest.approx(
        cohen_kappa_score(truth, (normalised > 0.5).ravel()), abs=1e-12
    )
    levels = normalisation(pred).level[pred]
    for threshold in (1, 40, 128, 200):
        expected = cohen_kappa_score(truth, (levels >= threshold).ravel())
        assert scores["kappa"]["curve"][threshold] == pytest.approx(expected, abs=1e-12)


def test_pooled_convention_with_21_thresholds():
    pairs = [(str(i), smooth_pred(blob_gt(seed=i), seed=i), blob_gt(seed=i)) for i in range(12)]
    evaluator = evaluate_arrays(pairs, SaliencyEvaluator(maxf="pooled", thresholds=21))
    results = evaluator.results()
    thresholds = np.linspace(0, 1, 21)
    precision, recall = np.zeros(21), np.zeros(21)
    for _, pred, gt in pairs:
        value = normalisation(pred).value[pred]
        truth = gt > 128
        for k, t in enumerate(thresholds):
            selected = value >= t
            tp = np.count_nonzero(selected & truth)
            precision[k] += tp / max(np.count_nonzero(selected), 1) if selected.any() else 0.0
            recall[k] += tp / np.count_nonzero(truth)
    precision, recall = precision / len(pairs), recall / len(pairs)
    f = 1.3 * precision * recall / (0.3 * precision + recall)
    assert results["maxf"] == pytest.approx(f.max(), abs=1e-12)
    np.testing.assert_allclose(results["pooled"]["precision"], precision, atol=1e-12)
    # the pooled 256-threshold max-F differs from the default mean-of-curves max-F
    default = evaluate_arrays(pairs, SaliencyEvaluator()).results()
    pooled256 = evaluate_arrays(pairs, SaliencyEvaluator(maxf="pooled")).results()
    assert pooled256["maxf"] != default["maxf"]
    assert pooled256["maxf"] == pytest.approx(
        (
            1.3
            * default["precision"]["curve"]
            * default["recall"]["curve"]
            / (0.3 * default["precision"]["curve"] + default["recall"]["curve"])
        ).max(),
        abs=1e-12,
    )


def test_workers_do_not_change_results():
    pairs = [(str(i), smooth_pred(blob_gt(seed=i), seed=i), blob_gt(seed=i)) for i in range(40)]
    one = evaluate_arrays(pairs, workers=1).results()
    two = evaluate_arrays(pairs, workers=2).results()
    assert one["wfmeasure"] == two["wfmeasure"] and one["smeasure"] == two["smeasure"]
    np.testing.assert_array_equal(one["fmeasure"]["curve"], two["fmeasure"]["curve"])


def test_input_conventions_and_errors():
    assert as_prediction(np.array([[0.0, 0.5, 1.0]])).tolist() == [[0, 128, 255]]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_prediction(np.array([[1.5]]))
    with pytest.raises(ValueError, match="differ in size"):
        pair_stats(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))
    with pytest.raises(ValueError, match="pooled"):
        SaliencyEvaluator(thresholds=21)
    with pytest.raises(ValueError, match="no image"):
        SaliencyEvaluator().results()
