"""Pseudo-labels from a network's coarse maps: predict, refine each image, report quality.

Shared by the weakly-supervised pipelines (WSS rounds, MWS's SNet labels).
``make_labels`` writes ``coarse/<stem>.png`` (the network's map at the
image's size), ``labels/<stem>.png`` (the label any refiner of
:data:`weaksal.refine.refiners.REFINERS` makes of it, binary) and
``quality.json``; existing files are kept, so an interrupted stage resumes.
The training masks are read only by :func:`label_quality`, for reporting.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from weaksal.classic import DETECTORS
from weaksal.classic.files import write_detector_maps
from weaksal.data.imageio import read_image, read_mask, read_prediction
from weaksal.data.layouts import Sample
from weaksal.inference.runtimes import TorchRuntime, maps_at_original_size, sigmoid, to_batch
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.models import load_model
from weaksal.plumbing.atomic import write_json, write_png
from weaksal.plumbing.batch import Job, run_batch
from weaksal.pretrained import resolve_model
from weaksal.refine.refiners import REFINERS, accepted_options, refine_file


def averaged_maps(
    runtime, images: Sequence[np.ndarray], sizes: Sequence[int], flip: bool = False
) -> list[np.ndarray]:
    """Saliency maps averaged over input ``sizes`` and, with ``flip``, mirrored copies.

    Test-time augmentation of the coarse maps that start the pseudo-labels:
    a class-activation-like map fires on the most discriminative part at one
    scale; other scales and the mirror image fill in more of the object.
    """
    shapes = [image.shape[:2] for image in images]
    total = [np.zeros(shape, np.float64) for shape in shapes]
    views = 0
    for size in sizes:
        batch = to_batch(images, size)
        for mirrored in (False, True) if flip else (False,):
            view = np.ascontiguousarray(batch[..., ::-1]) if mirrored else batch
            probabilities = sigmoid(runtime.logits(view))[:, 0]
            if mirrored:
                probabilities = probabilities[..., ::-1]
            for acc, one in zip(total, maps_at_original_size(probabilities, shapes), strict=True):
                acc += one
            views += 1
    return [(acc / views).astype(np.float32) for acc in total]


def write_coarse_maps(
    runtime,
    sizes: Sequence[int],
    samples: list[Sample],
    folder: Path,
    flip: bool = False,
    batch_size: int = 16,
) -> None:
    """``folder/<stem>.png``: the network's (averaged) map at each image's size; existing kept."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [s for s in samples if not (folder / f"{s.stem}.png").exists()]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        maps = averaged_maps(runtime, [read_image(s.image) for s in chunk], sizes, flip)
        for sample, saliency in zip(chunk, maps, strict=True):
            write_png(folder / f"{sample.stem}.png", np.round(saliency * 255).astype(np.uint8))


def write_source_maps(source: str, samples: Sequence[Sample], folder: Path, workers: int) -> Path:
    """``folder``: the maps of a classical detector's name, or of a saliency model (a file or a
    shipped name) at its input size; existing maps are kept."""
    if source in DETECTORS:
        write_detector_maps(source, samples, folder, workers)
        return folder
    network, spec = load_model(resolve_model(source))
    write_coarse_maps(TorchRuntime(network), [int(spec["input_size"])], list(samples), folder)
    return folder


def foreground_fraction(label: Path) -> float:
    """Share of a binary pseudo-label's pixels that are foreground."""
    return float((read_prediction(label) >= 0.5).mean())


def plausible_labels(
    samples: Sequence[Sample], folder: Path, low: float, high: float
) -> tuple[list[Sample], list[str]]:
    """Samples whose label in ``folder`` covers between ``low`` and ``high`` of the image.

    A label gate: an empty or nearly full-frame pseudo-label says the coarse
    map found nothing, and training on it teaches "nothing is salient" or
    "everything is". Returns the kept samples and the dropped stems.
    """
    kept: list[Sample] = []
    dropped: list[str] = []
    for sample in samples:
        if low <= foreground_fraction(folder / f"{sample.stem}.png") <= high:
            kept.append(sample)
        else:
            dropped.append(sample.stem)
    return kept, dropped


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


def require_refiners(labels: dict[str, Any], keys: Sequence[str]) -> None:
    """Refuse unknown refiner names in ``labels[key]`` before any stage runs: the labels
    stages come after the first training stage, an hour into a pipeline."""
    from weaksal.plumbing.errors import ConfigError

    for key in keys:
        name = labels.get(key)
        if name is not None and name not in REFINERS:
            raise ConfigError(
                f"labels.{key}: unknown refiner {name!r}. Fix: choose one of {', '.join(REFINERS)}"
            )


def make_labels(
    runtime,
    size: int | Sequence[int],
    samples: list[Sample],
    folder: Path,
    refiner: str,
    threshold: float,
    workers: int,
    flip: bool = False,
) -> dict[str, Any]:
    """Coarse maps of ``runtime``, refined by ``refiner`` into binary labels (``threshold``
    goes to the refiners that take one: ``itercrf``, ``threshold``).

    ``size``: one input size, or several whose maps are averaged (with their
    mirror images too under ``flip``; :func:`averaged_maps`).
    """
    sizes = [size] if isinstance(size, int) else list(size)
    write_coarse_maps(runtime, sizes, samples, folder / "coarse", flip)
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
        from weaksal.plumbing.errors import WeaksalError

        name, message = report.failed[0]
        raise WeaksalError(f"{len(report.failed)} pseudo-labels failed, first {name}: {message}")
    quality = {
        "coarse": label_quality(samples, folder / "coarse"),
        "labels": label_quality(samples, folder / "labels"),
    }
    write_json(folder / "quality.json", quality)
    return {"labels": len(jobs), "quality": quality}
