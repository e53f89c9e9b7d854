"""The ``weaksal`` command line: parses arguments, then calls the library."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weaksal.errors import WeaksalError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
data_app = typer.Typer(no_args_is_help=True, help="Inspect datasets.")
app.add_typer(data_app, name="data")
console = Console()
err_console = Console(stderr=True)


def friendly_errors(command):
    """Turn our own errors into one clear message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WeaksalError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


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


@data_app.command("check")
@friendly_errors
def data_check(
    path: Path = typer.Argument(..., help="Dataset root folder."),
    workers: int = typer.Option(0, help="Decoding processes (0: up to 4)."),
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
    ):
        for path_name, reason in rows:
            console.print(f"[red]{title}[/]: {path_name}: {reason}", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/]: {warning}")
    problems = len(report.unpaired) + len(report.unreadable) + len(report.size_mismatches)
    if problems:
        console.print(f"[bold red]{problems} problem(s) found[/]")
        raise typer.Exit(1)
    console.print("[green]no problems found[/]")


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
