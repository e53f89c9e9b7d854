"""A run's training log as CSV and TensorBoard, written through Fabric's loggers.

``metrics.jsonl`` stays the record (one JSON line per logged step, trimmed on
resume so no step appears twice); the views are rebuilt from it whole, so a
resumed run never leaves a CSV with repeated or lost rows: the trainer writes
``logs/metrics.csv`` beside each ``metrics.jsonl`` when a stage ends, and
``weaksal logs RUN --tensorboard`` writes TensorBoard event files (with the
``tensorboard`` package installed).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from weaksal.plumbing.errors import WeaksalError

VIEWS = ("csv", "tensorboard")


def read_log(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` (a line cut by a kill is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "step" in record:
            records.append(record)
    return records


def _scalars(record: dict) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in record.items()
        if key not in ("step", "time") and isinstance(value, (int, float))
    }


def write_views(log: str | Path, views: tuple[str, ...] = ("csv",)) -> list[Path]:
    """Rebuild the asked views of one ``metrics.jsonl`` in ``logs/`` beside it."""
    log = Path(log)
    records = read_log(log)
    folder = log.parent / "logs"
    written = []
    for view in views:
        if view == "csv":
            from lightning.fabric.loggers import CSVLogger

            logger = CSVLogger(root_dir=folder, name="", version="")
            target = folder / "metrics.csv"
            target.unlink(missing_ok=True)  # rebuilt whole from the record
        elif view == "tensorboard":
            import importlib.util

            if not any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
                raise WeaksalError(
                    f"{log}: TensorBoard logs need the tensorboard package."
                    " Fix: pip install tensorboard (the CSV view needs nothing more)"
                )
            from lightning.fabric.loggers import TensorBoardLogger

            logger = TensorBoardLogger(root_dir=folder / "tensorboard", name="", version="")
            target = folder / "tensorboard"
            for old in target.glob("events.out.tfevents.*"):
                old.unlink()
        else:
            raise ValueError(f"log view must be one of {', '.join(VIEWS)}, not {view!r}")
        with warnings.catch_warnings():  # "logs directory exists": rebuilt on purpose
            warnings.simplefilter("ignore", UserWarning)
            for record in records:
                logger.log_metrics(_scalars(record), step=int(record["step"]))
            logger.finalize("success")
        written.append(target)
    return written


def export_run_logs(run_dir: str | Path, views: tuple[str, ...] = ("csv",)) -> list[Path]:
    """The views of every ``metrics.jsonl`` of a run folder (the run's and each stage's)."""
    written = []
    for log in sorted(Path(run_dir).glob("**/metrics.jsonl")):
        written += write_views(log, views)
    return written
