"""Helpers the benchmark scripts share: scoring a folder of maps and printing table rows."""

from __future__ import annotations

from pathlib import Path

from weaksal.data.sources import dataset_path
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.metrics.runner import evaluate_saliency

COLUMNS = ("maxF", "maxF pooled", "MAE", "S", "adpF", "maxE", "wF")
HEADER = "| max F | max F (pooled) | MAE | S | adaptive F | max E | weighted F |"


def scores_of(results: dict) -> dict[str, float]:
    """The table's numbers from :meth:`SaliencyEvaluator.results` (both max-F conventions)."""
    return {
        "maxF": results["maxf"],
        "maxF pooled": results["pooled"]["max"],
        "MAE": results["mae"],
        "S": results["smeasure"],
        "adpF": results["fmeasure"]["adaptive"],
        "maxE": results["emeasure"]["max"],
        "wF": results["wfmeasure"],
    }


def score(folder: Path, name: str, workers: int = 2) -> dict[str, float]:
    """Score the maps in ``folder`` against benchmark ``name``'s masks."""
    run = evaluate_saliency(
        "row", folder, dataset_path(name), SaliencyEvaluator(maxf="mean"), workers=workers
    )
    return scores_of(run.results)


def row(cells: list[str], s: dict[str, float]) -> str:
    return "| " + " | ".join([*cells, *(f"{s[k]:.3f}" for k in COLUMNS)]) + " |"


def label_quality_table(rows: dict[str, dict], first: str) -> str:
    """Markdown table of ``make_labels`` qualities (coarse map and label vs the masks)."""
    lines = [
        f"| {first} | coarse MAE | coarse binary F | label MAE | label binary F | label IoU |",
        "|---|---|---|---|---|---|",
    ]
    for name, q in rows.items():
        c, lab = q["coarse"], q["labels"]
        lines.append(
            f"| {name} | {c['mae']:.3f} | {c['fmeasure_binary']:.3f} | {lab['mae']:.3f} "
            f"| {lab['fmeasure_binary']:.3f} | {lab['iou_binary']:.3f} |"
        )
    return "\n".join(lines)
