"""Classical detectors over files: one image file to one map PNG, and a whole list in parallel.

Top-level functions, so that the worker processes of :func:`weaksal.plumbing.batch.run_batch`
can import them; existing outputs are kept, so an interrupted run resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from weaksal.classic._registry import DETECTORS
from weaksal.data.imageio import read_image
from weaksal.data.layouts import Sample
from weaksal.plumbing.atomic import write_png
from weaksal.plumbing.batch import Job, run_batch
from weaksal.plumbing.errors import WeaksalError


def detect_file(detector: str, image_path: Path, output: Path) -> None:
    """Write the map of one image file as a PNG (atomically: an interrupted run leaves none).

    Parameters
    ----------
    detector : str
        A name of :data:`~weaksal.classic.DETECTORS`.
    image_path : Path
        The image.
    output : Path
        The PNG written, uint8 at the image's size.
    """
    write_png(output, DETECTORS.get(detector).target(read_image(image_path)))


def write_detector_maps(
    detector: str, samples: Sequence[Sample], folder: Path, workers: int
) -> dict[str, Any]:
    """Maps of a classical detector for ``samples`` (kept when already there).

    Parameters
    ----------
    detector : str
        A name of :data:`~weaksal.classic.DETECTORS`.
    samples : sequence of Sample
        The images; each map is ``folder/<stem>.png``.
    folder : Path
        Created when missing.
    workers : int
        Processes.

    Returns
    -------
    dict
        ``detector`` and ``maps`` (the number of samples), for the stage's record.

    Raises
    ------
    WeaksalError
        If any map failed; the message names the first failure.
    """
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [Job(s.stem, folder / f"{s.stem}.png", (detector, s.image)) for s in samples]
    report = run_batch(detect_file, jobs, workers)
    if report.failed:
        name, message = report.failed[0]
        raise WeaksalError(f"{len(report.failed)} {detector} maps failed, first {name}: {message}")
    return {"detector": detector, "maps": len(jobs)}
