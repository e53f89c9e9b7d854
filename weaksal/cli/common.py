"""What every command shares: the ``weaksal`` app, its consoles, one-line errors, progress bars
and the report of a folder run."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from weaksal.plumbing.errors import WeaksalError

HELP = """weaksal: salient object detection from weak supervision (WSS, LPS, MWS, SSNet, JSM),
classical detectors, and exact, fast evaluation.

Start with `weaksal predict photo.jpg --out maps` (shipped WSS model) or
`weaksal models`; every command is also a Python call (see the README).
"""

app = typer.Typer(no_args_is_help=True, add_completion=False, help=HELP)


def _print_version(value: bool) -> None:
    if value:
        from weaksal import __version__

        print(f"weaksal {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Salient object detection from weak supervision, and its evaluation."""


data_app = typer.Typer(no_args_is_help=True, help="Inspect datasets.")
app.add_typer(data_app, name="data")
export_app = typer.Typer(no_args_is_help=True, help="Export trained models.")
app.add_typer(export_app, name="export")
console = Console(width=None if sys.stdout.isatty() else 200)  # no truncated tables in logs
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _os_fix(exc: OSError) -> str:
    import errno

    fixes = {
        errno.ENOSPC: "free disk space (or write to another disk), then run the same command to resume",
        errno.EDQUOT: "free space in your quota, then run the same command to resume",
        errno.EACCES: "make the path readable/writable for you, or choose another folder",
        errno.EPERM: "make the path readable/writable for you, or choose another folder",
        errno.EROFS: "write to a folder on a writable disk",
        errno.ENOTDIR: "a path where a folder is expected is a file: choose another path",
        errno.EISDIR: "a path where a file is expected is a folder: choose another path",
        errno.EEXIST: "a file is in the way: choose another path",
    }
    return fixes.get(exc.errno, "check the path and the disk, then run the same command again")


def friendly_errors(command):
    """Turn our own errors into one clear message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WeaksalError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        except BrokenPipeError:  # `weaksal models | head`: the reader stopped, not an error
            sys.stderr.close()
            raise typer.Exit(0) from None
        except OSError as exc:  # disk full, read-only folder, permissions: name the file
            where = exc.filename or "a file"
            err_console.print(
                f"[bold red]error:[/] {where}: {exc.strerror or exc}. Fix: {_os_fix(exc)}",
                highlight=False,
            )
            raise typer.Exit(2) from None
        except ModuleNotFoundError as exc:  # a light install without this command's extra
            from weaksal.plumbing.extras import missing_extra

            message = missing_extra(exc)
            if message is None:
                raise
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see main)
            err_console.print(
                "[bold yellow]interrupted:[/] every file written so far is complete and kept;"
                " run the same command again to resume",
                highlight=False,
            )
            raise typer.Exit(130) from None

    return wrapper


def progress_labelled(iterable, total: int, label: str):
    """A progress bar over ``iterable`` (hidden when the output is not a terminal)."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=label, disable=None, leave=False)


def progress(label: str):
    """The bar of one fixed label, as the batch runners take it: ``(iterable, total)``."""
    return lambda iterable, total: progress_labelled(iterable, total, label)


def report_unused(images: Path) -> None:
    """Name every entry of an input folder that will not be read, and why."""
    from weaksal.data import index_images

    for entry in index_images(images).unused():
        err_console.print(f"[yellow]not used[/] {entry.path}: {entry.reason}", highlight=False)


def report_batch(report, out: Path, note: str = "") -> None:
    console.print(
        f"{len(report.done)} written, {len(report.kept)} kept (already in {out}),"
        f" {len(report.failed)} failed{note}",
        highlight=False,
    )
    for name, message in report.failed:
        err_console.print(f"[red]failed[/] {name}: {message}", highlight=False)
    if report.failed:
        raise typer.Exit(1)
