"""Evaluate folders of predicted maps against datasets, matching files by stem.

Nothing is dropped silently: missing predictions are an error naming them
(or, with ``skip_missing``, reported and left out), extra predictions are
reported, and maps of another size are resized to the ground truth with a
stated interpolation or refused with ``strict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_mask, read_prediction
from weaksal.data.layouts import files_by_stem
from weaksal.data.voc import read_label_map
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.metrics.saliency import PairStats, pair_stats, prepare_ground_truth
from weaksal.metrics.segmentation import ConfusionMatrix
from weaksal.plumbing.errors import LayoutError, SizeMismatchError, UnpairedFileError
from weaksal.plumbing.parallel import worker_pool

INTERPOLATIONS = {
    "bilinear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}


@dataclass
class EvalRun:
    """The outcome of evaluating one method on one dataset.

    Besides the numbers it keeps everything that was not scored as asked, so that a table
    never hides a missing or resized map.

    Attributes
    ----------
    method, dataset : str
        The names the tables show.
    results : dict
        :meth:`SaliencyEvaluator.results <weaksal.metrics.evaluator.SaliencyEvaluator.results>`
        or :meth:`ConfusionMatrix.results <weaksal.metrics.segmentation.ConfusionMatrix.results>`.
    names : list of str
        The image stems scored, in order.
    per_image : dict of str to ndarray
        Per-image scalars, aligned with ``names`` (empty for segmentation).
    missing : list of str
        Images without a prediction (``skip_missing``).
    extra : list of str
        Predictions without an image of the dataset.
    resized : list of str
        Predictions resized to their ground truth.
    unpaired : list of str
        Dataset files left out (``skip_unpaired``).
    folder : Path or None
        The prediction folder read (the report's picture grid).
    root : Path or None
        The dataset root.
    seconds : float
        Wall time of this run's evaluation.
    """

    method: str
    dataset: str
    results: dict
    names: list[str]
    per_image: dict[str, np.ndarray]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    unpaired: list[str] = field(default_factory=list)
    folder: Path | None = None
    root: Path | None = None
    seconds: float = 0.0


def parse_methods(spec: str) -> list[tuple[str, Path]]:
    """The methods of a command line's ``--pred``: ``DIR[,DIR...]`` or ``NAME=DIR[,...]``.

    Parameters
    ----------
    spec : str
        Comma-separated folders, each optionally named ``NAME=DIR``.

    Returns
    -------
    list of (str, Path)
        ``(name, folder)`` per method, in order; a name defaults to the folder's name.

    Raises
    ------
    ValueError
        If two methods share a name: their rows could not be told apart.

    Examples
    --------
    >>> parse_methods("maps/wss,mr=out/classic")
    [('wss', PosixPath('maps/wss')), ('mr', PosixPath('out/classic'))]
    """
    methods = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, folder = item.rpartition("=") if "=" in item else ("", "", item)
        path = Path(folder)
        methods.append((name or path.name, path))
    names = [name for name, _ in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"two prediction folders share a name in {names}; name them NAME=DIR")
    return methods


def prediction_folder(pred_root: Path, dataset_root: Path) -> Path:
    """``pred_root/<dataset name>`` when it exists, else ``pred_root`` itself."""
    nested = pred_root / dataset_root.name
    folder = nested if nested.is_dir() else pred_root
    if not folder.is_dir():
        raise LayoutError(
            folder, "prediction folder does not exist", "give a folder of predicted maps"
        )
    return folder


def match_predictions(pred_folder: Path, references: dict[str, Path], skip_missing: bool):
    """Pair predictions with reference files by stem; returns (pairs, missing, extra)."""
    predictions = files_by_stem(pred_folder)
    missing = sorted(set(references) - set(predictions))
    extra = sorted(set(predictions) - set(references))
    if missing and not skip_missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise UnpairedFileError(
            pred_folder,
            f"{len(missing)} of {len(references)} images have no prediction: {shown}",
            "predict every image, or pass --skip-missing to evaluate the rest (the missing are reported)",
        )
    pairs = [
        (stem, predictions[stem], references[stem])
        for stem in sorted(set(references) & set(predictions))
    ]
    return pairs, missing, extra


def load_prediction(
    path: Path, shape: tuple[int, int], interpolation: str, strict: bool
) -> tuple[np.ndarray, bool]:
    """Read a predicted map at the size of its ground truth.

    Parameters
    ----------
    path : Path
        The map's file.
    shape : (int, int)
        ``(H, W)`` of the ground truth.
    interpolation : {"bilinear", "nearest", "bicubic", "area"}
        How a map of another size is resized.
    strict : bool
        Refuse a map of another size instead of resizing it.

    Returns
    -------
    map : (H, W) uint8 ndarray
    resized : bool
        Whether the map was resized, so that the run can report it.

    Raises
    ------
    SizeMismatchError
        With ``strict``, for a map of another size.
    """
    pred = read_prediction(path)
    if pred.shape == shape:
        return pred, False
    if strict:
        raise SizeMismatchError(
            path,
            f"prediction is {pred.shape[1]}x{pred.shape[0]} but the ground truth is {shape[1]}x{shape[0]}",
            "save maps at the image size, or drop --strict to resize them",
        )
    return cv2.resize(pred, (shape[1], shape[0]), interpolation=INTERPOLATIONS[interpolation]), True


def _saliency_job(args: tuple) -> list[tuple[PairStats, bool]]:
    """One image for every method that has a map of it: the mask is read and prepared once."""
    gt_path, pred_paths, interpolation, strict, structure = args
    ground = prepare_ground_truth(read_mask(gt_path), structure)
    out = []
    for pred_path in pred_paths:
        pred, resized = load_prediction(pred_path, ground.shape, interpolation, strict)
        out.append((pair_stats(pred, ground, structure), resized))
    return out


def _run_jobs(job: Callable, jobs: list, workers: int, progress: Callable | None):
    if workers > 1:
        with worker_pool(workers) as pool:
            outputs = pool.map(job, jobs, chunksize=8)
            yield from (progress(outputs, len(jobs)) if progress else outputs)
    else:
        outputs = map(job, jobs)
        yield from (progress(outputs, len(jobs)) if progress else outputs)


def evaluate_saliency(
    method: str, pred_root: Path, dataset_root: Path, evaluator: SaliencyEvaluator, **options
) -> EvalRun:
    """One method's maps on one saliency dataset (any supported layout).

    Parameters
    ----------
    method : str
        The method's name in the tables.
    pred_root : Path
        Its folder of maps, or a folder holding one sub-folder per dataset name.
    dataset_root : Path
        The dataset.
    evaluator : SaliencyEvaluator
        The evaluator to fill (its convention).
    **options
        ``interpolation``, ``strict``, ``skip_missing``, ``workers``, ``progress``,
        ``skip_unpaired``: as in :func:`evaluate_saliency_methods`.

    Returns
    -------
    EvalRun
    """
    (run,) = evaluate_saliency_methods(
        [(method, Path(pred_root), evaluator)], dataset_root, **options
    )
    return run


def evaluate_saliency_methods(
    methods: list[tuple[str, Path, SaliencyEvaluator]],
    dataset_root: Path,
    interpolation: str = "bilinear",
    strict: bool = False,
    skip_missing: bool = False,
    workers: int = 1,
    progress: Callable | None = None,
    skip_unpaired: bool = False,
) -> list[EvalRun]:
    """Evaluate several methods' maps on one dataset, reading each mask once.

    Parameters
    ----------
    methods : list of (str, Path, SaliencyEvaluator)
        Name, prediction folder (or folder of per-dataset folders) and evaluator of each
        method.
    dataset_root : Path
        The dataset, in any layout of ``weaksal data info``.
    interpolation : {"bilinear", "nearest", "bicubic", "area"}, optional
        How maps of another size are resized to their ground truth.
    strict : bool, optional
        Refuse maps of another size instead of resizing them.
    skip_missing : bool, optional
        Score the images that have a map (the rest in ``EvalRun.missing``) instead of
        refusing.
    workers : int, optional
        Processes reading the pairs; the numbers do not depend on it.
    progress : callable, optional
        ``progress(iterable, total)`` wrapping the per-image results (a progress bar).
    skip_unpaired : bool, optional
        Leave out the dataset's images without a mask and masks without an image
        (``EvalRun.unpaired``) instead of refusing.

    Returns
    -------
    list of EvalRun
        One per method, in order.

    Raises
    ------
    LayoutError
        If the dataset has no masks or a prediction folder does not exist.
    UnpairedFileError
        If images have no prediction (without ``skip_missing``), or a method has no map
        of any image of the dataset.

    Notes
    -----
    Everything that depends on the ground truth alone (the mask, its
    centroid split, the weighted F-measure's distance fields and band) is
    computed once per image and shared by every method
    (:class:`~weaksal.metrics.saliency.GroundTruth`); each method's numbers
    are those of evaluating it alone.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}")
    dataset_root = Path(dataset_root)
    index = open_dataset(dataset_root, on_bad="skip" if skip_unpaired else "error")
    references = {s.stem: s.mask for s in index if s.mask is not None}
    if not references:
        raise LayoutError(
            dataset_root, "has no ground-truth masks", "point --gt at a dataset with masks"
        )
    matched = []
    for _, pred_root, _ in methods:
        folder = prediction_folder(Path(pred_root), dataset_root)
        pairs, missing, extra = match_predictions(folder, references, skip_missing)
        matched.append((folder, {stem: pred for stem, pred, _ in pairs}, missing, extra))
    stems = sorted({stem for _, found, _, _ in matched for stem in found})
    structure = any(evaluator.structure for _, _, evaluator in methods)
    jobs = [
        (
            references[stem],
            [found[stem] for _, found, _, _ in matched if stem in found],
            interpolation,
            strict,
            structure,
        )
        for stem in stems
    ]
    resized: list[list[str]] = [[] for _ in methods]
    for stem, results in zip(stems, _run_jobs(_saliency_job, jobs, workers, progress), strict=True):
        owners = [i for i, (_, found, _, _) in enumerate(matched) if stem in found]
        for i, (stats, was_resized) in zip(owners, results, strict=True):
            methods[i][2].add(stats, stem)
            if was_resized:
                resized[i].append(stem)
    runs = []
    for i, ((name, pred_root, evaluator), (folder, _, missing, extra)) in enumerate(
        zip(methods, matched, strict=True)
    ):
        if not len(evaluator):
            raise UnpairedFileError(
                pred_root, "no prediction matches an image of the dataset", "check the folder"
            )
        runs.append(
            EvalRun(
                name,
                dataset_root.name,
                evaluator.results(),
                list(evaluator.names),
                evaluator.per_image(),
                missing,
                extra,
                resized[i],
                [str(entry.path) for entry in index.skipped],
                folder,
                dataset_root,
            )
        )
    return runs


def _segmentation_job(args: tuple) -> np.ndarray:
    pred_path, label_path, num_classes = args
    label = read_label_map(label_path)
    pred = read_label_map(pred_path)
    if pred.shape != label.shape:
        raise SizeMismatchError(
            pred_path,
            f"prediction is {pred.shape[1]}x{pred.shape[0]} but the label map is"
            f" {label.shape[1]}x{label.shape[0]}",
            "save predictions at the label size",
        )
    matrix = ConfusionMatrix(num_classes)
    matrix.step(pred, label)
    return matrix.matrix


def evaluate_segmentation(
    method: str,
    pred_root: Path,
    dataset_root: Path,
    split: str | None = None,
    num_classes: int = 21,
    skip_missing: bool = False,
    workers: int = 1,
    progress: Callable | None = None,
) -> EvalRun:
    """mIoU of palette/index PNG predictions against VOC-style label maps.

    One :class:`~weaksal.metrics.segmentation.ConfusionMatrix` per image (in worker
    processes when asked), summed over the split: the VOC mIoU, not a mean over images.

    Parameters
    ----------
    method : str
        The method's name in the tables.
    pred_root : Path
        Its folder of class-index maps (or of per-dataset folders).
    dataset_root : Path
        A VOC-style dataset.
    split : str, optional
        The split to score (for VOC, ``ImageSets/Segmentation/<split>.txt``); default
        every image that has a label map.
    num_classes : int, optional
        Classes, background included (21 for VOC).
    skip_missing : bool, optional
        Score the images that have a prediction instead of refusing.
    workers : int, optional
        Processes reading the maps.
    progress : callable, optional
        ``progress(iterable, total)`` wrapping the per-image results.

    Returns
    -------
    EvalRun
        ``results`` as :meth:`ConfusionMatrix.results
        <weaksal.metrics.segmentation.ConfusionMatrix.results>`; no per-image scores.

    Raises
    ------
    SizeMismatchError
        For a prediction of another size than its label map (class maps are not resized).
    """
    index = open_dataset(dataset_root, split=split)
    references = {s.stem: s.mask for s in index if s.mask is not None}
    pairs, missing, extra = match_predictions(
        prediction_folder(pred_root, dataset_root), references, skip_missing
    )
    total = ConfusionMatrix(num_classes)
    jobs = [(pred, label, num_classes) for _, pred, label in pairs]
    for matrix in _run_jobs(_segmentation_job, jobs, workers, progress):
        total.matrix += matrix
    return EvalRun(
        method,
        dataset_root.name,
        total.results(),
        [stem for stem, _, _ in pairs],
        {},
        missing,
        extra,
        folder=prediction_folder(pred_root, dataset_root),
        root=dataset_root,
    )
