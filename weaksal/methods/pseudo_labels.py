"""Pseudo-labels from a network's coarse maps: predict, refine each image, report quality.

Shared by the weakly-supervised pipelines (WSS rounds, MWS's SNet labels).
``make_labels`` writes ``coarse/<stem>.png`` (the network's map at the
image's size), ``labels/<stem>.png`` (the label any refiner of
:data:`weaksal.refine.refiners.REFINERS` makes of it, binary) and
``quality.json``; existing files are kept, so an interrupted stage resumes.
The training masks are read only by :func:`label_quality`, for reporting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from weaksal.batch import Job, run_batch
from weaksal.data.atomic import write_json, write_png
from weaksal.data.imageio import read_image, read_mask, read_prediction
from weaksal.data.layouts import Sample
from weaksal.inference import predict_images
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.refine.refiners import accepted_options, refine_file


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


def label_quality(samples: list[Sample], folder: Path) -> dict[str, float]:
    """Pseudo-labels vs the training masks: reported, never used for training or selection."""
    evaluator = SaliencyEvaluator(maxf="mean", structure=False)
    for sample in samples:
        if sample.mask is not None and (folder / f"{sample.stem}.png").exists():
            evaluator.step(
                read_prediction(folder / f"{sample.stem}.png"), read_mask(sample.mask), sample.stem
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
    refiner: str,
    threshold: float,
    workers: int,
) -> dict[str, Any]:
    """Coarse maps of ``runtime``, refined by ``refiner`` into binary labels (``threshold``
    goes to the refiners that take one: ``itercrf``, ``threshold``)."""
    write_coarse_maps(runtime, size, samples, folder / "coarse")
    options = accepted_options(refiner, threshold=threshold)
    jobs = [
        Job(
            s.stem,
            folder / "labels" / f"{s.stem}.png",
            (refiner, "binary", options, s.image, (folder / "coarse" / f"{s.stem}.png",)),
        )
        for s in samples
    ]
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    report = run_batch(refine_file, jobs, workers)
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
