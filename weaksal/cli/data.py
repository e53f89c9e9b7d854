"""The ``weaksal data`` commands: layouts, checks, and the derived datasets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from weaksal.cli.common import (
    console,
    data_app,
    friendly_errors,
    progress,
)


@data_app.command("info")
def data_info() -> None:
    """List the dataset layouts weaksal understands."""
    from weaksal.data import LAYOUT_TABLE

    table = Table(title="Supported layouts (folder names matched case-insensitively)")
    for column in ("layout", "folders", "what"):
        table.add_column(column)
    for row in LAYOUT_TABLE:
        table.add_row(*row)
    console.print(table)
    console.print(
        "Masks: 0/1, 0/255 or grey; binary ground truth is grey > 128. Files pair by stem."
    )


@data_app.command("make-seg")
@friendly_errors
def data_make_seg(
    source: Path = typer.Argument(
        ..., help="Tagged saliency dataset (tags.csv + split.csv), e.g. DUTS-TR-50."
    ),
    out: Path = typer.Option(..., help="Where to write the VOC-layout segmentation benchmark."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Semantic labels = the image's tag class on its saliency mask; VOC layout (resumable)."""
    from weaksal.data.make_seg import make_segmentation_dataset

    summary = make_segmentation_dataset(source, out, workers, progress("make-seg"))
    lists = ", ".join(f"{name} {count}" for name, count in summary["lists"].items())
    console.print(
        f"{summary['images']} label maps ({summary['label_maps_written']} written now),"
        f" {summary['classes']} labels; lists: {lists}; in {out}",
        highlight=False,
    )


@data_app.command("subset")
@friendly_errors
def data_subset(
    source: Path = typer.Argument(..., help="Tagged saliency dataset (tags.csv + split.csv)."),
    out: Path = typer.Option(..., help="Where to write the subset (symbolic links)."),
    classes: int = typer.Option(4, min=1, help="The first N tag classes (sorted)."),
    train: int = typer.Option(8, min=1, help="Training images per class."),
    val: int = typer.Option(2, min=0, help="Validation images per class."),
) -> None:
    """A small fixed subset of a tagged dataset: the data of configs/smoke (minutes to train)."""
    from weaksal.data.subset import make_subset

    counts = make_subset(source, out, classes, train, val)
    console.print(f"train {counts['train']}, val {counts['val']} images in {out}", highlight=False)


@data_app.command("make-rgbd")
@friendly_errors
def data_make_rgbd(
    source: Path = typer.Argument(
        ..., help="Tagged saliency dataset with split.csv (objects and backgrounds): DUTS-TR-50."
    ),
    out: Path = typer.Option(..., help="Where to write the synthetic RGB-D set."),
    coco: Path = typer.Option(
        None, help="A COCO tree (train2017 / val2017) of further background photos."
    ),
    train: int = typer.Option(3000, min=0, help="Training scenes."),
    val: int = typer.Option(300, min=0, help="Validation scenes."),
    test: int = typer.Option(300, min=0, help="Test scenes."),
    seed: int = typer.Option(0, help="Every scene is a function of (seed, set, index)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Real objects pasted on real photos, with synthetic depth and its faults (resumable)."""
    from weaksal.data.make_rgbd import MakeRGBDSettings, make_rgbd_dataset

    settings = MakeRGBDSettings(train=train, val=val, test=test, seed=seed)
    summary = make_rgbd_dataset(source, out, coco, settings, workers, progress("make-rgbd"))
    scenes = ", ".join(f"{name} {count}" for name, count in summary["scenes"].items())
    console.print(
        f"{scenes} scenes ({summary['written_now']} written now) in {out}", highlight=False
    )


@data_app.command("check")
@friendly_errors
def data_check(
    path: Path = typer.Argument(..., help="Dataset root folder."),
    workers: int = typer.Option(0, min=0, help="Decoding processes (0: up to 4)."),
    split: str = typer.Option(None, help="VOC split list or COCO split to check."),
) -> None:
    """Decode every file of a dataset; report counts and problems (exit 1 if any)."""
    from weaksal.data.check import check_dataset

    report = check_dataset(path, workers=workers or None, split=split)
    console.print(f"[bold]{report.root}[/]: layout [cyan]{report.layout}[/]")
    table = Table(show_header=False)
    for name, count in report.counts.items():
        if count or name in ("images", "complete samples"):
            table.add_row(name, str(count))
    console.print(table)
    if report.mask_values:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.mask_values.items()))
        console.print(
            f"mask values: {kinds}; mean foreground fraction {report.mean_foreground:.3f}"
        )
    for title, rows in (
        ("unpaired", report.unpaired),
        ("unreadable", report.unreadable),
        ("size mismatch", report.size_mismatches),
        ("not used", report.unused),
        ("untagged", report.untagged),
        ("tag row without image", report.tag_rows_without_image),
    ):
        for path_name, reason in rows:
            console.print(f"[red]{title}[/]: {path_name}: {reason}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/]: {warning}")
    problems = report.problems
    if problems:
        console.print(f"[bold red]{problems} problem(s) found[/]")
        raise typer.Exit(1)
    console.print("[green]no problems found[/]")
