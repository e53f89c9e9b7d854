"""Folders of maps: the one report every folder command returns, and the classical ones.

``predict_folder``, ``promote_folder``, :func:`classic_folder` and
:func:`refine_folder` all write ``out/<stem>.png`` for the images of a
folder, keep what a previous run of the same producer wrote there (the
folder's run record, :mod:`weaksal.data.output_folder`), name every failure
and return one :class:`FolderReport`. The network commands batch images in
this process; the classical ones run one job per image in worker processes
(:func:`weaksal.plumbing.batch.run_batch`).

>>> import weaksal
>>> report = weaksal.classic_folder("mr", "photos/", "maps/")   # doctest: +SKIP
>>> report.complete, len(report.done)                           # doctest: +SKIP
(True, 12)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weaksal.plumbing.errors import LayoutError, WeaksalError


@dataclass
class FolderReport:
    """What a folder command did, by image stem.

    Attributes
    ----------
    done : list of str
        Maps written by this run.
    kept : list of str
        Maps already in the output folder (the same producer wrote them): a resumed run.
    failed : list of (str, str)
        Images that could not be read or processed, with the one-line reason.
    missing : list of str
        Images without the input paired with them (a prior map, a map to refine).
    left_as_prior : list of str
        LPS's certainty gate returned these priors unchanged (promotion only).
    shard : (int, int)
        This process's rank and the number of processes (``torchrun``).
    """

    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    left_as_prior: list[str] = field(default_factory=list)
    shard: tuple[int, int] = (0, 1)

    @property
    def complete(self) -> bool:
        """Every image of the folder has its map (nothing failed, nothing was missing)."""
        return not self.failed and not self.missing


def classic_folder(
    method: str,
    images: str | Path,
    out: str | Path,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable | None = None,
) -> FolderReport:
    """Maps of a classical detector (``mr``, ``mbplus``, ``rbd``, ``ft``, ``sr``) for a folder.

    Parameters
    ----------
    method : str
        A name of :data:`weaksal.classic.DETECTORS`.
    images : str or Path
        A folder of images (or a dataset root).
    out : str or Path
        Where ``<stem>.png`` goes, uint8 at each image's size.
    workers : int
        Worker processes (one job per image).
    overwrite : bool
        Replace maps that another producer wrote in ``out`` (otherwise refused).
    progress : callable, optional
        ``progress(iterable, total)`` wraps the jobs (a progress bar).

    Returns
    -------
    FolderReport
    """
    from weaksal.classic import DETECTORS
    from weaksal.classic.files import detect_file
    from weaksal.data import index_images
    from weaksal.data.output_folder import prepare_output_folder
    from weaksal.plumbing.batch import Job

    if method not in DETECTORS:
        raise WeaksalError(
            f"unknown classical detector {method!r}. Fix: one of {', '.join(DETECTORS)}"
        )
    samples = list(index_images(images))
    out = prepare_output_folder(
        out,
        {"command": "classic", "method": method},
        [images],
        overwrite,
        [f"{s.stem}.png" for s in samples],
    )
    jobs = [Job(s.stem, out / f"{s.stem}.png", (method, s.image)) for s in samples]
    return _run_jobs(detect_file, jobs, workers, progress)


def refine_folder(
    method: str,
    images: str | Path,
    maps: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    preset: str | None = None,
    threshold: float | None = None,
    output: str | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable | None = None,
) -> FolderReport:
    """Refine the saliency maps of a folder into pseudo-labels (``densecrf``, ``itercrf``, ``mr``,
    ``threshold``: :data:`weaksal.refine.refiners.REFINERS`).

    Parameters
    ----------
    method : str
        The refiner.
    images : str or Path
        The folder of the images the maps belong to, paired by stem.
    maps : str, Path or sequence of them
        The folder of maps; ``mr`` combines several folders (one map per folder per image).
    out : str or Path
        Where ``<stem>.png`` goes.
    preset : str, optional
        The dense CRF's preset (``mws``, ``ssnet``, ``jsm``; densecrf only).
    threshold : float, optional
        itercrf's starting foreground threshold; threshold's cut.
    output : {"soft", "binary"}, optional
        Default: what the refiner gives.
    workers, overwrite, progress
        As :func:`classic_folder`.

    Returns
    -------
    FolderReport
        Images without a map in every folder are in ``missing``.
    """
    from weaksal.data import index_images
    from weaksal.data.layouts import files_by_stem, pair_by_stem
    from weaksal.data.output_folder import prepare_output_folder
    from weaksal.plumbing.batch import Job
    from weaksal.refine.refiners import REFINERS, refine_file

    folders = [Path(maps)] if isinstance(maps, (str, Path)) else [Path(m) for m in maps]
    _check_refiner(method, preset, output, folders, REFINERS)
    options = {k: v for k, v in (("preset", preset), ("threshold", threshold)) if v is not None}
    image_files = {s.stem: s.image for s in index_images(images)}
    others = {f"map ({folder})": files_by_stem(folder) for folder in folders}
    pairs, unpaired = pair_by_stem(image_files, others, on_bad="skip")
    producer = {
        "command": "refine",
        "method": method,
        "options": options,
        "output": output,
        "maps": [str(f.resolve()) for f in folders],
    }
    out = prepare_output_folder(
        out, producer, [images, *folders], overwrite, [f"{stem}.png" for stem, _ in pairs]
    )
    jobs = [
        Job(
            stem,
            out / f"{stem}.png",
            (method, output, options, image_files[stem], tuple(found.values())),
        )
        for stem, found in pairs
    ]
    report = _run_jobs(refine_file, jobs, workers, progress)
    report.missing = [f"{item.path}: {item.reason}" for item in unpaired]
    return report


def _check_refiner(method: str, preset, output, folders: list[Path], refiners) -> None:
    """Refuse a bad combination once, before any worker starts (not once per image)."""
    if method not in refiners:
        raise WeaksalError(f"unknown refiner {method!r}. Fix: one of {', '.join(refiners)}")
    if preset is not None:
        from weaksal.refine.dense_crf import PRESETS

        if method != "densecrf":
            raise WeaksalError(f"--preset is a densecrf option, not {method}'s. Fix: leave it out")
        if preset not in PRESETS:
            raise WeaksalError(
                f"unknown densecrf preset {preset!r}. Fix: one of {', '.join(sorted(PRESETS))}"
            )
    if output not in (None, "soft", "binary"):
        raise WeaksalError(f"--output must be soft or binary, not {output!r}")
    for folder in folders:
        if not folder.is_dir():
            raise LayoutError(folder, "is not a folder", "point --maps at the folder(s) of maps")
    if len(folders) > 1 and not refiners.get(method).several_maps:
        raise WeaksalError(
            f"{method} refines one map per image; only mr combines several. Fix: give one folder"
        )


def _run_jobs(function: Callable, jobs, workers: int, progress: Callable | None) -> FolderReport:
    from weaksal.plumbing.batch import run_batch

    batch = run_batch(function, jobs, workers, progress)
    return FolderReport(done=batch.done, kept=batch.kept, failed=batch.failed)
