"""Evaluation speed: weaksal vs PySODMetrics 1.6.2 on the same ECSSD pairs, one run.

Predictions are real, varied maps made from each image (a classical
frequency-tuned saliency map), so that every metric does its full work. Both
sides get the same preloaded uint8 arrays; only metric time is measured, on
one process. Also checks that the numbers agree.

    python bench/eval_speed.py [--limit N] [--repeat R] [--threads T]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import cv2
import numpy as np

from weaksal.classic.ft import frequency_tuned
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.metrics import SaliencyEvaluator
from weaksal.paths import data_root


def load_pairs(limit: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    index = index_saliency(data_root() / "ECSSD")
    samples = list(index)[:limit] if limit else list(index)
    return [(frequency_tuned(read_image(s.image)), read_mask(s.mask)) for s in samples]


def run_reference(pairs, family_only: bool) -> tuple[float, dict]:
    import py_sod_metrics as psm

    warnings.filterwarnings("ignore", message="This class will be removed")
    metrics = (
        {"fm": psm.Fmeasure()}
        if family_only
        else {
            "mae": psm.MAE(),
            "fm": psm.Fmeasure(),
            "sm": psm.Smeasure(),
            "em": psm.Emeasure(),
            "wfm": psm.WeightedFmeasure(),
        }
    )
    start = time.perf_counter()
    for pred, gt in pairs:
        for metric in metrics.values():
            metric.step(pred, gt)
    elapsed = time.perf_counter() - start
    return elapsed, {name: metric.get_results() for name, metric in metrics.items()}


def run_weaksal(pairs, family_only: bool) -> tuple[float, dict]:
    evaluator = SaliencyEvaluator(structure=not family_only)
    start = time.perf_counter()
    for pred, gt in pairs:
        evaluator.step(pred, gt)
    elapsed = time.perf_counter() - start
    return elapsed, evaluator.results()


def interleaved_times(pairs, family_only: bool, repeat: int) -> tuple[float, float]:
    """Seconds for all pairs on each side; the sides alternate ``repeat`` times and the
    fastest run of each counts, so drifts in machine load (these machines are
    shared) hit both sides alike."""
    reference_runs, ours_runs = [], []
    for _ in range(repeat):
        reference_runs.append(run_reference(pairs, family_only)[0])
        ours_runs.append(run_weaksal(pairs, family_only)[0])
    return min(reference_runs), min(ours_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="first N ECSSD pairs (default: all 1000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating runs of each side; the best is kept"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="OpenCV threads (0: OpenCV's default)"
    )
    args = parser.parse_args()
    if args.threads:
        cv2.setNumThreads(args.threads)
    pairs = load_pairs(args.limit)
    print(
        f"{len(pairs)} ECSSD pairs; python {platform.python_version()}; {platform.machine()};"
        f" OpenCV threads {cv2.getNumThreads()}"
    )
    run_weaksal(pairs[:5], False)  # warm caches (tables, imports)
    for label, family_only in (
        ("(a) MAE+F+S+E+wF", False),
        ("(b) threshold family (F, P-R curves)", True),
    ):
        reference, ours_time = interleaved_times(pairs, family_only, args.repeat)
        gap = _largest_gap(
            run_weaksal(pairs, family_only)[1], run_reference(pairs, family_only)[1], family_only
        )
        n = len(pairs)
        print(
            f"{label}: pysodmetrics {n / reference:7.1f} img/s | weaksal {n / ours_time:7.1f} img/s |"
            f" speed-up {reference / ours_time:5.2f}x | largest difference {gap:.1e}"
        )


def _largest_gap(ours: dict, ref: dict, family_only: bool) -> float:
    pairs = [
        (ours["fmeasure"]["curve"][::-1], ref["fm"]["fm"]["curve"]),
        (ours["fmeasure"]["adaptive"], ref["fm"]["fm"]["adp"]),
        (ours["precision"]["curve"][::-1], ref["fm"]["pr"]["p"]),
        (ours["recall"]["curve"][::-1], ref["fm"]["pr"]["r"]),
    ]
    if not family_only:
        pairs += [
            (ours["mae"], ref["mae"]["mae"]),
            (ours["smeasure"], ref["sm"]["sm"]),
            (ours["emeasure"]["curve"][::-1], ref["em"]["em"]["curve"]),
            (ours["emeasure"]["adaptive"], ref["em"]["em"]["adp"]),
            (ours["wfmeasure"], ref["wfm"]["wfm"]),
        ]
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in pairs)


if __name__ == "__main__":
    main()
