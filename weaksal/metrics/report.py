"""Tables (terminal, CSV, JSON, Markdown, LaTeX) and curve plots of evaluation runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from weaksal.metrics.conventions import convention_text
from weaksal.metrics.runner import EvalRun
from weaksal.plumbing.atomic import atomic_path, write_json, write_text

#: (column, how to read it from results, higher is better)
SALIENCY_COLUMNS: list[tuple[str, str, bool]] = [
    ("MAE", "mae", False),
    ("maxF", "maxf", True),
    ("meanF", "fmeasure.mean", True),
    ("adpF", "fmeasure.adaptive", True),
    ("S", "smeasure", True),
    ("maxE", "emeasure.max", True),
    ("meanE", "emeasure.mean", True),
    ("adpE", "emeasure.adaptive", True),
    ("wF", "wfmeasure", True),
]
SEGMENTATION_COLUMNS: list[tuple[str, str, bool]] = [
    ("mIoU", "miou", True),
    ("pixel acc", "pixel_accuracy", True),
    ("mean acc", "mean_accuracy", True),
]


def _lookup(results: dict, path: str) -> float:
    value = results
    for key in path.split("."):
        value = value.get(key, float("nan")) if isinstance(value, dict) else float("nan")
    return float(value)


def summary(runs: Sequence[EvalRun], columns=None) -> tuple[list[str], list[list]]:
    """The table of ``runs`` as data: header and rows.

    Parameters
    ----------
    runs : sequence of EvalRun
        Saliency or segmentation runs (not mixed).
    columns : list of (str, str, bool), optional
        ``(name, path in the results, higher is better)`` per metric column; default
        :data:`SALIENCY_COLUMNS` or :data:`SEGMENTATION_COLUMNS`, by the first run.

    Returns
    -------
    header : list of str
        ``dataset``, ``method``, ``images``, then one name per metric column.
    rows : list of list
        One per run; a metric a run lacks is NaN.
    """
    columns = columns or (
        SEGMENTATION_COLUMNS if runs and "miou" in runs[0].results else SALIENCY_COLUMNS
    )
    header = ["dataset", "method", "images"] + [name for name, _, _ in columns]
    rows = [
        [run.dataset, run.method, len(run.names)]
        + [_lookup(run.results, path) for _, path, _ in columns]
        for run in runs
    ]
    return header, rows


def _best(rows: list[list], columns) -> set[tuple[int, int]]:
    """(row, column) cells holding the best value of their dataset."""
    best = set()
    for dataset in {row[0] for row in rows}:
        members = [i for i, row in enumerate(rows) if row[0] == dataset]
        for offset, (_, _, higher) in enumerate(columns):
            col = 3 + offset
            values = [rows[i][col] for i in members if np.isfinite(rows[i][col])]
            if len(members) < 2 or not values:
                continue
            target = max(values) if higher else min(values)
            best |= {(i, col) for i in members if rows[i][col] == target}
    return best


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def to_csv(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_fmt(v) for v in row] for row in rows])
    return buffer.getvalue()


def to_markdown(header, rows, columns) -> str:
    best = _best(rows, columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for i, row in enumerate(rows):
        cells = [f"**{_fmt(v)}**" if (i, j) in best else _fmt(v) for j, v in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(header, rows, columns) -> str:
    best = _best(rows, columns)
    escape = lambda text: str(text).replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")  # noqa: E731
    arrows = [""] * 3 + [r"$\uparrow$" if higher else r"$\downarrow$" for _, _, higher in columns]
    lines = [
        r"\begin{tabular}{ll r" + "c" * len(columns) + "}",
        r"\toprule",
        " & ".join(escape(h) + (" " + a if a else "") for h, a in zip(header, arrows, strict=True))
        + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(rows):
        cells = [
            rf"\textbf{{{_fmt(v)}}}" if (i, j) in best else escape(_fmt(v))
            for j, v in enumerate(row)
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _columns(runs: Sequence[EvalRun]):
    return SEGMENTATION_COLUMNS if runs and "miou" in runs[0].results else SALIENCY_COLUMNS


def markdown_table(runs: Sequence[EvalRun]) -> str:
    """The Markdown table of ``runs``, best per dataset in bold, under its max-F convention.

    Parameters
    ----------
    runs : sequence of EvalRun

    Returns
    -------
    str
        The convention's line (for saliency), a blank line, then the table.
    """
    columns = _columns(runs)
    header, rows = summary(runs, columns)
    convention = convention_text(runs[0].results) if runs else ""
    return (f"{convention}\n\n" if convention else "") + to_markdown(header, rows, columns)


def write_tables(runs: Sequence[EvalRun], out_dir: Path, stem: str = "results") -> list[Path]:
    """Write the tables of ``runs`` in four formats.

    Each names the max-F convention, so that no number travels without it: the CSV in a
    ``convention`` column, the Markdown above the table, the LaTeX in a comment and the
    JSON per run.

    Parameters
    ----------
    runs : sequence of EvalRun
    out_dir : Path
        The folder (created when missing).
    stem : str, optional
        File name without extension.

    Returns
    -------
    list of Path
        ``<stem>.csv``, ``.md``, ``.tex`` and ``.json``; the JSON has the curves and the
        missing, extra and resized file lists too.
    """
    columns = _columns(runs)
    header, rows = summary(runs, columns)
    convention = convention_text(runs[0].results) if runs else ""
    paths = [out_dir / f"{stem}.{ext}" for ext in ("csv", "md", "tex", "json")]
    if convention:
        write_text(paths[0], to_csv([*header, "convention"], [[*r, convention] for r in rows]))
    else:
        write_text(paths[0], to_csv(header, rows))
    write_text(paths[1], markdown_table(runs))
    write_text(
        paths[2],
        (f"% {convention}\n" if convention else "") + to_latex(header, rows, columns),
    )
    write_json(
        paths[3],
        [
            {
                "dataset": r.dataset,
                "method": r.method,
                "convention": convention_text(r.results),
                "results": r.results,
                "missing": r.missing,
                "extra": r.extra,
                "resized": r.resized,
            }
            for r in runs
        ],
    )
    return paths


def write_per_image(run: EvalRun, path: Path) -> None:
    """Write a run's per-image scores as CSV: one row per image, its name and every scalar.

    Parameters
    ----------
    run : EvalRun
    path : Path
        The CSV file.
    """
    keys = list(run.per_image)
    rows = [[name] + [float(run.per_image[k][i]) for k in keys] for i, name in enumerate(run.names)]
    write_text(path, to_csv(["image"] + keys, rows))


def plot_curves(runs: Sequence[EvalRun], out_dir: Path) -> list[Path]:
    """Plot the precision-recall and F-threshold curves of each dataset, one line per method.

    Parameters
    ----------
    runs : sequence of EvalRun
        Saliency runs.
    out_dir : Path
        The folder.

    Returns
    -------
    list of Path
        ``pr_<dataset>`` and ``fcurve_<dataset>``, each as PNG and PDF.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for dataset in sorted({run.dataset for run in runs}):
        members = [run for run in runs if run.dataset == dataset]
        for kind in ("pr", "fcurve"):
            figure, axis = plt.subplots(figsize=(6, 5), dpi=100)
            for run in members:
                if kind == "pr":
                    pooled = run.results["pooled"]
                    axis.plot(
                        pooled["recall"], pooled["precision"], label=run.method, linewidth=1.5
                    )
                else:
                    axis.plot(
                        np.arange(256),
                        run.results["fmeasure"]["curve"],
                        label=run.method,
                        linewidth=1.5,
                    )
            if kind == "pr":
                axis.set(
                    xlabel="recall",
                    ylabel="precision",
                    xlim=(0, 1),
                    ylim=(0, 1.01),
                    title=f"{dataset}: precision-recall (mean over images)",
                )
            else:
                axis.set(
                    xlabel="threshold",
                    ylabel="F-measure (beta^2 = 0.3)",
                    xlim=(0, 255),
                    ylim=(0, 1.01),
                    title=f"{dataset}: F-measure by threshold",
                )
            axis.grid(True, alpha=0.3)
            axis.legend(loc="lower left" if kind == "pr" else "lower center")
            figure.tight_layout()
            for ext in ("png", "pdf"):
                path = out_dir / f"{kind}_{dataset}.{ext}"
                with atomic_path(path) as tmp:
                    figure.savefig(tmp, format=ext)
                written.append(path)
            plt.close(figure)
    return written
