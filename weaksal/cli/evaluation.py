"""The commands that score maps: ``weaksal eval`` and ``weaksal report``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from weaksal.cli.common import (
    app,
    console,
    err_console,
    friendly_errors,
    progress_labelled,
)


@app.command("eval")
@friendly_errors
def evaluate(
    pred: str = typer.Option(..., help="Prediction folder(s): DIR[,DIR...] or NAME=DIR[,...]."),
    gt: str = typer.Option(
        ..., help="Dataset root(s), comma-separated, in any layout of `weaksal data info`."
    ),
    out: Path = typer.Option(None, help="Write results.{csv,md,tex,json} and curve plots here."),
    seg: bool = typer.Option(False, "--seg", help="Segmentation (index PNGs vs VOC labels): mIoU."),
    split: str = typer.Option(None, help="With --seg: the VOC split list (e.g. val)."),
    num_classes: int = typer.Option(21, min=2, help="With --seg: number of classes."),
    maxf: str = typer.Option(
        "mean", help="max-F convention: mean (PySODMetrics) or pooled (MATLAB toolbox)."
    ),
    thresholds: int = typer.Option(256, help="256, or 21 (linspace(0,1,21), with --maxf pooled)."),
    interpolation: str = typer.Option(
        "bilinear", help="Resize maps of another size: bilinear|nearest|bicubic|area."
    ),
    strict: bool = typer.Option(
        False, help="Refuse maps whose size differs from the ground truth."
    ),
    skip_missing: bool = typer.Option(
        False, help="Evaluate the images that have a prediction; report the rest."
    ),
    skip_unpaired: bool = typer.Option(
        False, help="Leave out dataset images without a mask (and masks without an image)."
    ),
    per_image: bool = typer.Option(False, help="Also write per-image scores (CSV) under --out."),
    grid: int = typer.Option(
        6, min=0, help="The report's picture grid: this many images where methods disagree most."
    ),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Evaluate predicted maps against one or more datasets (Python: ``weaksal.evaluate``).

    With --out: tables (CSV, Markdown, LaTeX, JSON), curves, and the report
    (report.html, self-contained, and report.md).
    """

    from weaksal.data.layouts import unused_entries
    from weaksal.metrics.evaluation import evaluate as evaluate_folders
    from weaksal.metrics.runner import parse_methods

    try:
        methods = parse_methods(pred)
        if not seg:
            from weaksal.metrics import SaliencyEvaluator

            SaliencyEvaluator(maxf=maxf, thresholds=thresholds)  # a bad convention: exit 2 now
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    for _, folder in methods:
        if Path(folder).is_dir():
            for entry in unused_entries(Path(folder)):
                err_console.print(
                    f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False
                )
    evaluation = evaluate_folders(
        pred,
        gt,
        maxf=maxf,
        thresholds=thresholds,
        seg=seg,
        split=split,
        num_classes=num_classes,
        interpolation=interpolation,
        strict=strict,
        skip_missing=skip_missing,
        skip_unpaired=skip_unpaired,
        workers=workers,
        progress=progress_labelled,
    )
    for run in evaluation.runs:
        for title, names in (
            ("missing", run.missing),
            ("extra", run.extra),
            ("resized", run.resized),
            ("unpaired (left out)", run.unpaired),
        ):
            if names:
                shown = ", ".join(names[:10]) + (
                    f" (+{len(names) - 10} more)" if len(names) > 10 else ""
                )
                err_console.print(
                    f"[yellow]{run.method} on {run.dataset}: {len(names)} {title}:[/] {shown}",
                    highlight=False,
                )
    header, rows = evaluation.table()
    convention = f" ({evaluation.convention})" if evaluation.convention else ""
    table = Table(title="Evaluation" + convention)
    for column in header:
        table.add_column(column, justify="left" if column in ("dataset", "method") else "right")
    for row in rows:
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if out:
        written = evaluation.write(out, per_image, grid)
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


@app.command("report")
@friendly_errors
def report(
    pred: str = typer.Option(..., help="Prediction folder(s): DIR[,DIR...] or NAME=DIR[,...]."),
    gt: str = typer.Option(..., help="Dataset root(s), comma-separated."),
    out: Path = typer.Option(..., help="Where to write report.html, report.md and pictures."),
    maxf: str = typer.Option("mean", help="max-F convention: mean (PySODMetrics) or pooled."),
    thresholds: int = typer.Option(256, help="256, or 21 (with --maxf pooled)."),
    grid: int = typer.Option(6, min=0, help="Images in the picture grid, per dataset."),
    skip_missing: bool = typer.Option(False, help="Score the images that have a prediction."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Only the evaluation report: one self-contained HTML page (and Markdown) of the scores.

    `weaksal eval --out` writes the same report beside its tables.
    """
    from weaksal.metrics.evaluation import evaluate as evaluate_folders
    from weaksal.metrics.report_page import write_report

    try:
        evaluation = evaluate_folders(
            pred,
            gt,
            maxf=maxf,
            thresholds=thresholds,
            skip_missing=skip_missing,
            workers=workers,
            progress=progress_labelled,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    written = write_report(evaluation, out, grid)
    typer.echo("wrote " + ", ".join(str(p) for p in written))
