"""Evaluation speed: weaksal vs PySODMetrics 1.6.2 on the same ECSSD pairs, one run.

Predictions are real, varied maps made from each image (a classical
frequency-tuned saliency map), so that every metric does its full work. Both
sides get the same preloaded uint8 arrays; only metric time is measured, on
one process. Also checks that the numbers agree.

    python bench/eval_speed.py [--limit N] [--repeat R] [--threads T] [--methods M]

Besides one method (a, b), ``--methods M`` (default 10) evaluates M methods'
maps of the same images, as a paper table does: PySODMetrics runs once per
method; weaksal reads and prepares each mask once for all of them
(:class:`weaksal.metrics.saliency.GroundTruth`). The ratios are printed on
lines of their own (``ratio one method: N.Nx``, ``ratio 10 methods: N.Nx``).
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
from weaksal.plumbing.paths import data_root


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


def method_maps(pred: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` different maps of one image (the FT map re-toned, blurred, shifted),
    standing in for the methods of a table."""
    maps = []
    for k in range(count):
        gamma = 0.5 + 0.15 * k
        toned = np.clip(255.0 * (pred / 255.0) ** gamma, 0, 255).astype(np.uint8)
        if k % 3 == 1:
            toned = cv2.GaussianBlur(toned, (0, 0), 1 + k % 4)
        if k % 3 == 2:
            toned = np.roll(toned, (k, -k), axis=(0, 1))
        maps.append(toned)
    return maps


def run_reference_methods(pairs_by_method) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    results = [run_reference(pairs, False)[1] for pairs in pairs_by_method]
    return time.perf_counter() - start, results


def run_weaksal_methods(pairs_by_method) -> tuple[float, list[dict]]:
    from weaksal.metrics.saliency import pair_stats, prepare_ground_truth

    evaluators = [SaliencyEvaluator() for _ in pairs_by_method]
    start = time.perf_counter()
    for image in range(len(pairs_by_method[0])):
        ground = prepare_ground_truth(pairs_by_method[0][image][1])
        for evaluator, pairs in zip(evaluators, pairs_by_method, strict=True):
            evaluator.add(pair_stats(pairs[image][0], ground))
    results = [evaluator.results() for evaluator in evaluators]
    return time.perf_counter() - start, results


def interleaved_times(pairs, family_only: bool, repeat: int) -> tuple[float, float, float]:
    """Seconds for all pairs on each side, and the largest difference between their
    numbers; the sides alternate ``repeat`` times and the fastest run of each counts,
    so drifts in machine load (these machines are shared) hit both sides alike."""
    reference_runs, ours_runs = [], []
    for _ in range(repeat):
        elapsed, reference_results = run_reference(pairs, family_only)
        reference_runs.append(elapsed)
        elapsed, ours_results = run_weaksal(pairs, family_only)
        ours_runs.append(elapsed)
    gap = _largest_gap(ours_results, reference_results, family_only)
    return min(reference_runs), min(ours_runs), gap


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
    parser.add_argument(
        "--methods", type=int, default=10, help="methods of the table run (0: skip it)"
    )
    parser.add_argument(
        "--methods-repeat",
        type=int,
        default=1,
        help="rounds of the table run (PySODMetrics"
        " takes 3-5 minutes a round on 1000 images x 10 methods here)",
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
        reference, ours_time, gap = interleaved_times(pairs, family_only, args.repeat)
        n = len(pairs)
        print(
            f"{label}: pysodmetrics {n / reference:7.1f} img/s | weaksal {n / ours_time:7.1f} img/s |"
            f" speed-up {reference / ours_time:5.2f}x | largest difference {gap:.1e}"
        )
        if not family_only:
            print(f"ratio one method: {reference / ours_time:.1f}x")
    if args.methods:
        per_image = [method_maps(pred, args.methods) for pred, _ in pairs]
        by_method = [
            [(maps[m], gt) for maps, (_, gt) in zip(per_image, pairs, strict=True)]
            for m in range(args.methods)
        ]
        reference_runs, ours_runs = [], []
        for _ in range(args.methods_repeat):
            elapsed, reference_results = run_reference_methods(by_method)
            reference_runs.append(elapsed)
            elapsed, results = run_weaksal_methods(by_method)
            ours_runs.append(elapsed)
        gap = max(
            _largest_gap(ours, ref, False)
            for ours, ref in zip(results, reference_results, strict=True)
        )
        reference, ours_time = min(reference_runs), min(ours_runs)
        n = len(pairs) * args.methods
        print(
            f"(c) {args.methods} methods x {len(pairs)} images, MAE+F+S+E+wF: pysodmetrics per"
            f" method {n / reference:7.1f} maps/s | weaksal, masks shared {n / ours_time:7.1f}"
            f" maps/s | largest difference {gap:.1e}"
        )
        print(f"ratio {args.methods} methods: {reference / ours_time:.1f}x")


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
