"""Per-file jobs of ``weaksal classic`` and ``weaksal refine`` (top-level, so that
worker processes can import them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from weaksal.batch import Job, run_batch
from weaksal.data.atomic import write_png
from weaksal.data.imageio import read_image, read_mask
from weaksal.data.layouts import Sample
from weaksal.errors import WeaksalError


def detect_file(detector: str, image_path: Path, output: Path) -> None:
    from weaksal.classic import get_detector

    write_png(output, get_detector(detector)(read_image(image_path)))


def refine_file(
    method: str, preset: str | None, image_path: Path, map_paths: tuple[Path, ...], output: Path
) -> None:
    image = read_image(image_path)
    maps = [read_mask(path) for path in map_paths]
    if method == "densecrf":
        from weaksal.refine.dense_crf import refine_saliency

        result = refine_saliency(image, maps[0], preset or "mws")
    elif method == "itercrf":
        from weaksal.refine.iterative_crf import iterative_crf

        result = iterative_crf(image, maps[0])
    elif method == "mr":
        from weaksal.refine.manifold_ranking import mr_refine

        result = mr_refine(image, maps)
    else:
        raise ValueError(f"unknown refinement {method!r}")
    write_png(output, result)


def write_detector_maps(
    detector: str, samples: Sequence[Sample], folder: Path, workers: int
) -> dict[str, Any]:
    """Maps of a classical detector for ``samples`` (kept when already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [Job(s.stem, folder / f"{s.stem}.png", (detector, s.image)) for s in samples]
    report = run_batch(detect_file, jobs, workers)
    if report.failed:
        name, message = report.failed[0]
        raise WeaksalError(f"{len(report.failed)} {detector} maps failed, first {name}: {message}")
    return {"detector": detector, "maps": len(jobs)}
