"""Evaluation as one call, ``weaksal.evaluate``, and its result: the tables of every run.

``weaksal eval`` is a thin command over :func:`evaluate`; an
:class:`Evaluation` indexes its runs by (method, dataset), prints as the
Markdown table and writes every file of ``--out`` (tables, curves, report).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from weaksal.metrics.conventions import convention_text
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.metrics.runner import (
    EvalRun,
    evaluate_saliency_methods,
    evaluate_segmentation,
    parse_methods,
)


@dataclass
class Evaluation:
    """Every (method, dataset) run of one evaluation, with its tables.

    ``evaluation["wss", "ECSSD"]`` is that run's results dict (``maxf``,
    ``mae``, ``smeasure``, curves...); ``str(evaluation)`` is the Markdown
    table; :meth:`write` writes the files of ``weaksal eval --out``.

    Attributes
    ----------
    runs : list of EvalRun
        In the order evaluated: per dataset, every method.
    """

    runs: list[EvalRun]

    @property
    def convention(self) -> str:
        """The max-F convention in words, as every table states it (empty for segmentation)."""
        return convention_text(self.runs[0].results) if self.runs else ""

    def __getitem__(self, key: tuple[str, str]) -> dict:
        method, dataset = key
        for run in self.runs:
            if run.method == method and run.dataset == dataset:
                return run.results
        raise KeyError(f"no run of method {method!r} on dataset {dataset!r}")

    def table(self) -> tuple[list[str], list[list]]:
        """The table as data, for a caller's own formatting.

        Returns
        -------
        header : list of str
            ``dataset``, ``method``, ``images``, then one name per metric column.
        rows : list of list
            One per run, in the order of ``header``.
        """
        from weaksal.metrics.report import summary

        return summary(self.runs)

    def to_markdown(self) -> str:
        """The Markdown table, best per dataset in bold, under its max-F convention."""
        from weaksal.metrics.report import markdown_table

        return markdown_table(self.runs)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:  # notebooks show the table
        return self.to_markdown()

    def write(self, out: str | Path, per_image: bool = False, grid: int = 6) -> list[Path]:
        """Write the files of ``weaksal eval --out``.

        Parameters
        ----------
        out : str or Path
            The folder.
        per_image : bool, optional
            Also write ``per_image_<dataset>_<method>.csv`` for every run.
        grid : int, optional
            Images in the report's picture grid of each dataset (0: none).

        Returns
        -------
        list of Path
            Everything written: ``results.{csv,md,tex,json}``, per-image CSVs and, for
            saliency, curve plots and the report (``report.html``, self-contained, and
            ``report.md``) with a picture grid of the ``grid`` images where the methods
            disagree most.
        """
        from weaksal.metrics.report import plot_curves, write_per_image, write_tables

        out = Path(out)
        written = write_tables(self.runs, out)
        if self.runs and "miou" not in self.runs[0].results:
            from weaksal.metrics.report_page import write_report

            written += plot_curves(self.runs, out)
            written += write_report(self, out, grid)
        if per_image:
            for run in self.runs:
                from weaksal.plumbing.paths import file_name_part

                name = f"per_image_{file_name_part(run.dataset)}_{file_name_part(run.method)}"
                path = out / f"{name}.csv"
                write_per_image(run, path)
                written.append(path)
        return written


def _labelled(progress: Callable | None, label: str) -> Callable | None:
    return (lambda it, n: progress(it, n, label)) if progress else None


def evaluate(
    pred: str | Path | dict[str, str | Path],
    gt: str | Path | list[str | Path],
    *,
    maxf: str = "mean",
    thresholds: int = 256,
    seg: bool = False,
    split: str | None = None,
    num_classes: int = 21,
    interpolation: str = "bilinear",
    strict: bool = False,
    skip_missing: bool = False,
    skip_unpaired: bool = False,
    workers: int = 1,
    progress: Callable | None = None,
) -> Evaluation:
    """Score folders of maps against one or more datasets: ``weaksal eval`` in Python.

    Parameters
    ----------
    pred : str, Path or dict of str to (str or Path)
        A folder, ``"DIR,DIR"`` / ``"NAME=DIR,..."`` as on the command line, or
        ``{name: folder}``; a folder holding one sub-folder per dataset name is read per
        dataset.
    gt : str, Path or list of (str or Path)
        A dataset root (any layout of ``weaksal data info``), ``"ROOT,ROOT"``, or a list
        of roots.
    maxf : {"mean", "pooled"}, optional
        ``"mean"`` (PySODMetrics) or ``"pooled"`` (MATLAB toolbox); see
        ``weaksal.metrics.conventions``.
    thresholds : {256, 21}, optional
        21 for the pooled convention of the MWS/LPS/SSNet code.
    seg : bool, optional
        Score class-index maps by mIoU instead.
    split : str, optional
        With ``seg``, the split to score.
    num_classes : int, optional
        With ``seg``, the classes, background included.
    interpolation : {"bilinear", "nearest", "bicubic", "area"}, optional
        How saliency maps of another size are resized to their ground truth.
    strict : bool, optional
        Refuse saliency maps of another size instead of resizing them.
    skip_missing : bool, optional
        Score the images that have a map (the rest in ``run.missing``).
    skip_unpaired : bool, optional
        Leave out the dataset's unpaired files (``run.unpaired``).
    workers : int, optional
        Processes reading the maps; the numbers do not depend on it.
    progress : callable, optional
        ``progress(iterable, total, label)`` wrapping each run's per-image results.

    Returns
    -------
    Evaluation
        ``evaluation[method, dataset]`` is a run's results dict.

    Raises
    ------
    ValueError
        For a convention that :class:`~weaksal.metrics.evaluator.SaliencyEvaluator`
        refuses, before anything is read.
    """
    if isinstance(pred, dict):
        methods = [(str(name), Path(folder)) for name, folder in pred.items()]
    else:
        methods = parse_methods(str(pred))
    datasets = (
        [Path(gt)]
        if isinstance(gt, (str, Path)) and "," not in str(gt)
        else [Path(d) for d in (gt.split(",") if isinstance(gt, str) else gt) if str(d).strip()]
    )
    if not seg:
        SaliencyEvaluator(maxf=maxf, thresholds=thresholds)  # refuse a bad convention first
    runs = []
    for dataset in datasets:
        start = time.perf_counter()
        if seg:
            for name, folder in methods:
                start = time.perf_counter()
                step = _labelled(progress, f"{name} on {dataset.name}")
                run = evaluate_segmentation(
                    name, folder, dataset, split, num_classes, skip_missing, workers, step
                )
                run.seconds = time.perf_counter() - start
                runs.append(run)
            continue
        step = _labelled(progress, f"{len(methods)} method(s) on {dataset.name}")
        shared = evaluate_saliency_methods(
            [(name, folder, SaliencyEvaluator(maxf=maxf, thresholds=thresholds))
             for name, folder in methods],
            dataset, interpolation, strict, skip_missing, workers, step, skip_unpaired,
        )  # fmt: skip
        for run in shared:  # the masks were read once for all: the time is split evenly
            run.seconds = (time.perf_counter() - start) / len(shared)
        runs += shared
    return Evaluation(runs)
