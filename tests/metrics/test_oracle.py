"""Exactness against PySODMetrics 1.6.2 on real ECSSD and SOD ground truth.

Every per-image value and every dataset curve is compared; MAE, the threshold
family, S- and E-measure within 1e-10, weighted F within 1e-6.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.metrics.maps import varied_maps
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.metrics import SaliencyEvaluator, pair_stats, scores_from_stats

psm = pytest.importorskip(
    "py_sod_metrics", reason="the oracle pysodmetrics==1.6.2 is a test dependency"
)
pytestmark = pytest.mark.data
EXACT, WFM = 1e-10, 1e-6


def sample_pairs(root, every):
    samples = list(index_saliency(root))[::every]
    for i, sample in enumerate(samples):
        gt = read_mask(sample.mask)
        for kind, pred in varied_maps(read_image(sample.image), gt, seed=i).items():
            yield f"{sample.stem}:{kind}", pred, gt


@pytest.fixture(scope="module", params=[("ECSSD", 20), ("SOD", 6)], ids=["ECSSD", "SOD"])
def compared(request, real_data):
    name, every = request.param
    pairs = list(sample_pairs(real_data / name, every))
    warnings.filterwarnings("ignore", message="This class will be removed")
    ref = {
        "mae": psm.MAE(),
        "fm": psm.Fmeasure(),
        "sm": psm.Smeasure(),
        "em": psm.Emeasure(),
        "wfm": psm.WeightedFmeasure(),
    }
    handlers = {
        name: cls(with_dynamic=True, with_adaptive=True, with_binary=True)
        for name, cls in [
            ("iou", psm.IOUHandler),
            ("dice", psm.DICEHandler),
            ("ber", psm.BERHandler),
            ("precision", psm.PrecisionHandler),
            ("recall", psm.RecallHandler),
            ("specificity", psm.SpecificityHandler),
            ("fmeasure", psm.FmeasureHandler),
        ]
    }
    v2 = psm.FmeasureV2(metric_handlers=handlers)
    evaluator = SaliencyEvaluator()
    stats = []
    for key, pred, gt in pairs:
        for metric in ref.values():
            metric.step(pred, gt)
        v2.step(pred, gt)
        stats.append(pair_stats(pred, gt))
        evaluator.add(stats[-1], key)
    return {
        "pairs": pairs,
        "ref": ref,
        "v2": v2.get_results(),
        "ours": evaluator.results(),
        "per_image": scores_from_stats(stats),
    }


def test_per_image_scalars_match(compared):
    ref, ours = compared["ref"], compared["per_image"]
    assert len(ours.mae) == len(compared["pairs"]) >= 150
    np.testing.assert_allclose(ours.mae, ref["mae"].maes, rtol=0, atol=EXACT)
    np.testing.assert_allclose(ours.smeasure, ref["sm"].sms, rtol=0, atol=EXACT)
    np.testing.assert_allclose(ours.wfmeasure, ref["wfm"].weighted_fms, rtol=0, atol=WFM)
    np.testing.assert_allclose(
        ours.adaptive["fmeasure"], ref["fm"].adaptive_fms, rtol=0, atol=EXACT
    )
    np.testing.assert_allclose(
        ours.adaptive["emeasure"], ref["em"].adaptive_ems, rtol=0, atol=EXACT
    )


def test_per_image_curves_match(compared):
    ref, ours = compared["ref"], compared["per_image"]
    # the reference orders curves from threshold 255 down to 0
    np.testing.assert_allclose(
        ours.curves["fmeasure"][:, ::-1], ref["fm"].changeable_fms, rtol=0, atol=EXACT
    )
    np.testing.assert_allclose(
        ours.curves["precision"][:, ::-1], ref["fm"].precisions, rtol=0, atol=EXACT
    )
    np.testing.assert_allclose(
        ours.curves["recall"][:, ::-1], ref["fm"].recalls, rtol=0, atol=EXACT
    )
    np.testing.assert_allclose(
        ours.curves["emeasure"][:, ::-1], ref["em"].changeable_ems, rtol=0, atol=EXACT
    )


def test_dataset_results_match(compared):
    ref = {name: metric.get_results() for name, metric in compared["ref"].items()}
    ours = compared["ours"]
    assert abs(ours["mae"] - ref["mae"]["mae"]) < EXACT
    assert abs(ours["smeasure"] - ref["sm"]["sm"]) < EXACT
    assert abs(ours["wfmeasure"] - ref["wfm"]["wfm"]) < WFM
    fm_curve = ref["fm"]["fm"]["curve"]
    np.testing.assert_allclose(ours["fmeasure"]["curve"][::-1], fm_curve, rtol=0, atol=EXACT)
    assert abs(ours["fmeasure"]["max"] - fm_curve.max()) < EXACT
    assert abs(ours["fmeasure"]["mean"] - fm_curve.mean()) < EXACT
    assert abs(ours["maxf"] - fm_curve.max()) < EXACT
    assert abs(ours["fmeasure"]["adaptive"] - ref["fm"]["fm"]["adp"]) < EXACT
    em_curve = ref["em"]["em"]["curve"]
    assert abs(ours["emeasure"]["max"] - em_curve.max()) < EXACT
    assert abs(ours["emeasure"]["mean"] - em_curve.mean()) < EXACT
    assert abs(ours["emeasure"]["adaptive"] - ref["em"]["em"]["adp"]) < EXACT
    np.testing.assert_allclose(
        ours["precision"]["curve"][::-1], ref["fm"]["pr"]["p"], rtol=0, atol=EXACT
    )
    np.testing.assert_allclose(
        ours["recall"]["curve"][::-1], ref["fm"]["pr"]["r"], rtol=0, atol=EXACT
    )


@pytest.mark.parametrize(
    "metric", ["iou", "dice", "ber", "precision", "recall", "specificity", "fmeasure"]
)
def test_binary_family_matches_fmeasurev2(compared, metric):
    ref = compared["v2"][metric]
    ours = compared["ours"][metric]
    np.testing.assert_allclose(ours["curve"][::-1], ref["dynamic"], rtol=0, atol=EXACT)
    assert abs(ours["adaptive"] - ref["adaptive"]) < EXACT
    assert abs(ours["binary"] - ref["binary"]) < EXACT
