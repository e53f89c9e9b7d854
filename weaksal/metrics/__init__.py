"""Saliency and segmentation metrics (conventions: ``weaksal.metrics.conventions``)."""

from weaksal.metrics.evaluator import SaliencyEvaluator, evaluate_arrays, pooled_fmeasure
from weaksal.metrics.saliency import FAMILY, PairStats, image_scores, pair_stats, scores_from_stats
from weaksal.metrics.weighted_f import weighted_fmeasure

__all__ = [
    "FAMILY",
    "PairStats",
    "SaliencyEvaluator",
    "evaluate_arrays",
    "image_scores",
    "pair_stats",
    "pooled_fmeasure",
    "scores_from_stats",
    "weighted_fmeasure",
]
