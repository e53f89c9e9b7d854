"""The evaluation report: one self-contained HTML page and its Markdown twin.

What a reader of a results section needs, from one ``weaksal eval --out``:

* the method x dataset table, the three best of each column marked (1st bold
  red, 2nd blue, 3rd green, as PySODEvalToolkit's tables) and the max-F
  convention named above it;
* the precision-recall and F-threshold curves of every dataset in one figure;
* the images where the methods disagree most (the largest spread of their
  per-image MAE; with one method, its worst images): image | ground truth |
  each method's map, so a number can be checked by eye;
* how long each evaluation took.

The HTML embeds its pictures (data URLs), so the one file can be mailed; the
Markdown links ``curves.png`` and ``grid_<dataset>.png`` beside it.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from weaksal.plumbing.atomic import atomic_path, write_png, write_text

#: (column, path in a run's results, higher is better)
REPORT_COLUMNS = [
    ("maxF", "maxf", True),
    ("MAE", "mae", False),
    ("S", "smeasure", True),
    ("maxE", "emeasure.max", True),
    ("wF", "wfmeasure", True),
]
RANK_COLOURS = {1: "#d01c1c", 2: "#1f5fd1", 3: "#1e8a3a"}
RANK_MARKS = {1: "¹", 2: "²", 3: "³"}


def _value(results: dict, path: str) -> float:
    value = results
    for key in path.split("."):
        value = value.get(key, float("nan")) if isinstance(value, dict) else float("nan")
    return float(value)


def top_three(values: list[float], higher: bool) -> list[int | None]:
    """Rank 1, 2 or 3 of each value among the distinct finite ones (ties share a rank).

    Parameters
    ----------
    values : list of float
        One column of the table on one dataset, a value per method.
    higher : bool
        Whether higher is better (False for MAE).

    Returns
    -------
    list of int or None
        The rank of each value, None below the third or for NaN.

    Examples
    --------
    >>> top_three([0.9, 0.8, 0.9, 0.7, 0.6, float("nan")], higher=True)
    [1, 2, 1, 3, None, None]
    """
    finite = sorted({v for v in values if np.isfinite(v)}, reverse=higher)[:3]
    return [finite.index(v) + 1 if v in finite else None for v in values]


def result_grid(evaluation) -> tuple[list[str], list[str], dict]:
    """Methods and datasets in order of appearance, and ``cells[(method, dataset)] = results``."""
    methods = list(dict.fromkeys(run.method for run in evaluation.runs))
    datasets = list(dict.fromkeys(run.dataset for run in evaluation.runs))
    cells = {(run.method, run.dataset): run.results for run in evaluation.runs}
    return methods, datasets, cells


def ranked_table(evaluation) -> tuple[list[str], list[str], dict]:
    """The report table's cells, each with its rank among the methods on its dataset.

    Parameters
    ----------
    evaluation : Evaluation

    Returns
    -------
    methods, datasets : list of str
        In order of appearance.
    table : dict
        ``table[(method, dataset, column)] = (value, rank)`` for the columns of
        :data:`REPORT_COLUMNS`; rank 1 to 3 or None, and always None when only one
        method ran on the dataset.
    """
    methods, datasets, cells = result_grid(evaluation)
    table: dict = {}
    for dataset in datasets:
        for column, path, higher in REPORT_COLUMNS:
            present = [m for m in methods if (m, dataset) in cells]
            values = [_value(cells[(m, dataset)], path) for m in present]
            ranks = top_three(values, higher) if len(present) > 1 else [None] * len(present)
            for method, value, rank in zip(present, values, ranks, strict=True):
                table[(method, dataset, column)] = (value, rank)
    return methods, datasets, table


def disagreement(runs, count: int) -> list[str]:
    """The ``count`` images of one dataset where the methods' per-image MAE spreads most.

    The images a reader should look at to see how the methods differ, not only by how
    much.

    Parameters
    ----------
    runs : list of EvalRun
        Every method's run on one dataset.
    count : int
        How many images.

    Returns
    -------
    list of str
        Stems, the largest spread (standard deviation) first; only images every method
        scored count; with one method, its largest MAE.
    """
    shared = set(runs[0].names)
    for run in runs[1:]:
        shared &= set(run.names)
    stems = sorted(shared)
    if not stems:
        return []
    errors = np.stack(
        [
            np.array([dict(zip(run.names, run.per_image["mae"], strict=True))[s] for s in stems])
            for run in runs
        ]
    )
    spread = errors.std(axis=0) if len(runs) > 1 else errors[0]
    order = np.argsort(-spread, kind="stable")
    return [stems[i] for i in order[:count]]


def picture_grid(runs, stems: list[str]) -> np.ndarray | None:
    """``uint8 RGB``: a title row, then per image: image | ground truth | each method's map."""
    from weaksal.data.discover import open_dataset
    from weaksal.data.imageio import read_image, read_mask
    from weaksal.data.layouts import files_by_stem
    from weaksal.data.render import header, tile
    from weaksal.metrics.runner import load_prediction

    if not stems or runs[0].root is None:
        return None
    samples = open_dataset(runs[0].root, on_bad="skip").by_stem()
    maps = [files_by_stem(run.folder) for run in runs]
    rows = [header(["image", "ground truth", *[run.method for run in runs]])]
    for stem in stems:
        mask = read_mask(samples[stem].mask)
        tiles = [tile(read_image(samples[stem].image)), tile(mask)]
        for found in maps:
            prediction, _ = load_prediction(found[stem], mask.shape, "bilinear", False)
            tiles.append(tile(prediction))
        rows.append(np.hstack(tiles))
    return np.vstack(rows)


def curves_png(runs) -> bytes:
    """One figure: precision-recall (top) and F by threshold (bottom), a column per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(run.dataset for run in runs))
    figure, axes = plt.subplots(
        2, len(datasets), figsize=(4.2 * len(datasets), 7.6), dpi=100, squeeze=False
    )
    for column, dataset in enumerate(datasets):
        top, bottom = axes[0][column], axes[1][column]
        for run in (r for r in runs if r.dataset == dataset):
            pooled = run.results["pooled"]
            top.plot(pooled["recall"], pooled["precision"], label=run.method, linewidth=1.4)
            curve = run.results["fmeasure"]["curve"]
            bottom.plot(np.arange(len(curve)), curve, label=run.method, linewidth=1.4)
        top.set(title=f"{dataset}: precision-recall", xlabel="recall", ylabel="precision",
                xlim=(0, 1), ylim=(0, 1.01))  # fmt: skip
        bottom.set(title=f"{dataset}: F by threshold", xlabel="threshold",
                   ylabel="F (beta^2 = 0.3)", xlim=(0, 255), ylim=(0, 1.01))  # fmt: skip
        for axis in (top, bottom):
            axis.grid(True, alpha=0.3)
        top.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _timings(evaluation) -> list[tuple[str, str, int, float]]:
    return [(r.method, r.dataset, len(r.names), r.seconds) for r in evaluation.runs]


def render_html(evaluation, curves: bytes, grids: dict[str, bytes | None], grid: int) -> str:
    methods, datasets, table = ranked_table(evaluation)
    escape = html.escape
    head = "".join(f'<th colspan="{len(REPORT_COLUMNS)}">{escape(d)}</th>' for d in datasets)
    sub = "".join(
        f"<th>{escape(c)} {'&uarr;' if higher else '&darr;'}</th>"
        for _ in datasets
        for c, _, higher in REPORT_COLUMNS
    )
    body = []
    for method in methods:
        cells = []
        for dataset in datasets:
            for column, _, _ in REPORT_COLUMNS:
                value, rank = table.get((method, dataset, column), (float("nan"), None))
                style = (
                    f' style="color:{RANK_COLOURS[rank]};font-weight:{700 if rank == 1 else 600}"'
                    if rank
                    else ""
                )
                shown = f"{value:.3f}" if np.isfinite(value) else "-"
                cells.append(f'<td class="rank{rank or 0}"{style}>{shown}</td>')
        body.append(f"<tr><th>{escape(method)}</th>{''.join(cells)}</tr>")
    pictures = []
    for dataset, png in grids.items():
        if png:
            pictures.append(
                f"<h3>{escape(dataset)}: the {grid} images where the methods disagree most</h3>"
                f'<img class="grid" alt="image, ground truth and maps on {escape(dataset)}"'
                f' src="{_data_url(png)}">'
            )
    timings = "".join(
        f"<tr><td>{escape(m)}</td><td>{escape(d)}</td><td>{n}</td><td>{s:.1f}</td>"
        f"<td>{1000 * s / max(n, 1):.1f}</td></tr>"
        for m, d, n, s in _timings(evaluation)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>weaksal evaluation report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin: .6rem 0 1.2rem; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f3f3f3; }} tr th:first-child {{ text-align: left; }}
img.grid, img.curves {{ max-width: 100%; border: 1px solid #ddd; }}
p.note {{ color: #555; }}
</style></head><body>
<h1>Evaluation report</h1>
<p class="note">{escape(evaluation.convention)}. The three best of each column:
<span style="color:{RANK_COLOURS[1]};font-weight:700">first</span>,
<span style="color:{RANK_COLOURS[2]};font-weight:600">second</span>,
<span style="color:{RANK_COLOURS[3]};font-weight:600">third</span>.</p>
<table id="results"><tr><th rowspan="2">method</th>{head}</tr><tr>{sub}</tr>
{"".join(body)}</table>
<h2>Curves</h2>
<img class="curves" alt="precision-recall and F curves" src="{_data_url(curves)}">
<h2>Where the methods disagree</h2>
<p class="note">Images ranked by the spread of the methods' per-image MAE (one method: its
largest MAE); maps resized to the ground truth where their size differs.</p>
{"".join(pictures)}
<h2>Timings</h2>
<table><tr><th>method</th><th>dataset</th><th>images</th><th>seconds</th><th>ms / image</th></tr>
{timings}</table>
</body></html>
"""


def render_markdown(evaluation, grids: dict[str, bytes | None], grid: int) -> str:
    methods, datasets, table = ranked_table(evaluation)
    columns = [f"{d} {c}" for d in datasets for c, _, _ in REPORT_COLUMNS]
    lines = [
        "# Evaluation report",
        "",
        f"{evaluation.convention}. Best three of each column: **first**¹, second², third³.",
        "",
        "| method | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for method in methods:
        cells = []
        for dataset in datasets:
            for column, _, _ in REPORT_COLUMNS:
                value, rank = table.get((method, dataset, column), (float("nan"), None))
                shown = f"{value:.3f}" if np.isfinite(value) else "-"
                shown = f"**{shown}**" if rank == 1 else shown
                cells.append(shown + (RANK_MARKS[rank] if rank else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "## Curves", "", "![precision-recall and F curves](curves.png)", ""]
    lines += ["## Where the methods disagree", ""]
    for dataset, png in grids.items():
        if png:
            lines += [
                f"{dataset}: the {grid} images where the methods disagree most (image | ground"
                " truth | each method's map):",
                "",
                f"![{dataset}](grid_{dataset}.png)",
                "",
            ]
    lines += ["## Timings", "", "| method | dataset | images | seconds |", "|---|---|---|---|"]
    lines += [f"| {m} | {d} | {n} | {s:.1f} |" for m, d, n, s in _timings(evaluation)]
    return "\n".join(lines) + "\n"


def write_report(evaluation, out: str | Path, grid: int = 6) -> list[Path]:
    """Write the evaluation report: one self-contained HTML page and its Markdown twin.

    Parameters
    ----------
    evaluation : Evaluation
        Saliency runs.
    out : str or Path
        The folder.
    grid : int, optional
        Images in each dataset's picture grid (0: no grid).

    Returns
    -------
    list of Path
        ``report.html`` (self-contained), ``report.md``, ``curves.png`` and a
        ``grid_<dataset>.png`` per dataset that has a grid (the Markdown links them).
    """
    out = Path(out)
    curves = curves_png(evaluation.runs)
    written = [out / "curves.png"]
    with atomic_path(written[0]) as tmp:
        Path(tmp).write_bytes(curves)
    grids: dict[str, bytes | None] = {}
    for dataset in dict.fromkeys(run.dataset for run in evaluation.runs):
        runs = [run for run in evaluation.runs if run.dataset == dataset]
        picture = picture_grid(runs, disagreement(runs, grid)) if grid else None
        grids[dataset] = _png_bytes(picture) if picture is not None else None
        if picture is not None:
            write_png(out / f"grid_{dataset}.png", picture)
            written.append(out / f"grid_{dataset}.png")
    write_text(out / "report.html", render_html(evaluation, curves, grids, grid))
    write_text(out / "report.md", render_markdown(evaluation, grids, grid))
    return [out / "report.html", out / "report.md", *written]
