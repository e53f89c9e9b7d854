"""Pseudo-labels from a network's coarse maps: predict, refine each image, report quality.

Shared by the weakly-supervised pipelines (WSS rounds, MWS's SNet labels).
``make_labels`` writes ``coarse/<stem>.png`` (the network's map at the
image's size), ``labels/<stem>.png`` (the refined binary label) and
``quality.json``; existing files are kept, so an interrupted stage resumes.
The training masks are read only by :func:`label_quality`, for reporting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from weaksal.batch import Job, run_batch
from weaksal.data.atomic import write_json, write_png
from weaksal.data.imageio import read_image, read_mask
from weaksal.data.layouts import Sample
from weaksal.inference import predict_images
from weaksal.metrics.evaluator import SaliencyEvaluator


def write_coarse_maps(
    runtime, size: int, samples: list[Sample], folder: Path, batch_size: int = 16
) -> None:
    """``folder/<stem>.png``: the network's map at each image's size; existing files are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [s for s in samples if not (folder / f"{s.stem}.png").exists()]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        maps = predict_images(runtime, [read_image(s.image) for s in chunk], size)
        for sample, saliency in zip(chunk, maps, strict=True):
            write_png(folder / f"{sample.stem}.png", np.round(saliency * 255).astype(np.uint8))


def refine_label_file(
    method: str, threshold: float, image_path: Path, coarse_path: Path, output: Path
) -> None:
    """One pseudo-label: ``itercrf`` (WSS), ``densecrf`` (plain dense CRF, the ablation) or ``threshold``."""
    image, coarse = read_image(image_path), read_mask(coarse_path)
    if method == "itercrf":
        from weaksal.refine.iterative_crf import iterative_crf

        label = iterative_crf(image, coarse, threshold=threshold)
    elif method == "densecrf":
        from weaksal.refine.dense_crf import refine_saliency

        label = ((refine_saliency(image, coarse, "mws") > 127) * 255).astype(np.uint8)
    elif method == "threshold":
        label = ((coarse > threshold * 255) * 255).astype(np.uint8)
    else:
        raise ValueError(f"unknown pseudo-label refinement {method!r}")
    write_png(output, label)


def label_quality(samples: list[Sample], folder: Path) -> dict[str, float]:
    """Pseudo-labels vs the training masks: reported, never used for training or selection."""
    evaluator = SaliencyEvaluator(maxf="mean", structure=False)
    for sample in samples:
        if sample.mask is not None and (folder / f"{sample.stem}.png").exists():
            evaluator.step(
                read_mask(folder / f"{sample.stem}.png"), read_mask(sample.mask), sample.stem
            )
    if not len(evaluator):
        return {}
    results = evaluator.results()
    return {
        "images": results["images"],
        "mae": results["mae"],
        "fmeasure_binary": results["fmeasure"]["binary"],
        "iou_binary": results["iou"]["binary"],
    }


def make_labels(
    runtime,
    size: int,
    samples: list[Sample],
    folder: Path,
    method: str,
    threshold: float,
    workers: int,
) -> dict[str, Any]:
    write_coarse_maps(runtime, size, samples, folder / "coarse")
    jobs = [
        Job(
            s.stem,
            folder / "labels" / f"{s.stem}.png",
            (method, threshold, s.image, folder / "coarse" / f"{s.stem}.png"),
        )
        for s in samples
    ]
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    report = run_batch(refine_label_file, jobs, workers)
    if report.failed:
        from weaksal.errors import WeaksalError

        name, message = report.failed[0]
        raise WeaksalError(f"{len(report.failed)} pseudo-labels failed, first {name}: {message}")
    quality = {
        "coarse": label_quality(samples, folder / "coarse"),
        "labels": label_quality(samples, folder / "labels"),
    }
    write_json(folder / "quality.json", quality)
    return {"labels": len(jobs), "quality": quality}
