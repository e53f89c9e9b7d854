"""Multi-stage pipelines (train -> pseudo-label -> train ...) with every stage cached on disk.

Each stage works in its own folder ``run_dir/<name>`` and is finished when its
``DONE.json`` exists; a re-run skips finished stages and re-enters an
unfinished one, which resumes by itself: training stages from their newest
checkpoint (:class:`~weaksal.engine.trainer.Trainer`), file-producing stages by
keeping the files already written (:func:`weaksal.plumbing.batch.run_batch`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weaksal.plumbing.atomic import write_json

DONE = "DONE.json"


@dataclass(frozen=True)
class Stage:
    """``run(folder)`` does the stage's work in ``folder`` and returns a JSON-able summary."""

    name: str
    run: Callable[[Path], Any]


def start_pipeline(run_dir: str | Path, config: dict[str, Any]) -> Path:
    """The pipeline's own record in ``run_dir`` (config.yaml, run.json), written by rank 0.

    Under torchrun every process runs the pipeline; only the first writes, and
    a resumed run with another config is refused before any stage starts.
    """
    import os

    from weaksal.engine.config import write_run_files

    run_dir = Path(run_dir)
    if int(os.environ.get("RANK", 0)) == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run_files(run_dir, config, int(config.get("seed", 0)))
    return run_dir


def stage_done(run_dir: str | Path, name: str) -> bool:
    return (Path(run_dir) / name / DONE).is_file()


def stage_summary(run_dir: str | Path, name: str) -> Any:
    return json.loads((Path(run_dir) / name / DONE).read_text())["summary"]


def run_pipeline(
    run_dir: str | Path,
    stages: Sequence[Stage],
    log: Callable[[str], None] = print,
    is_writer: bool = True,
) -> dict[str, Any]:
    """Run the unfinished stages in order; return every stage's summary by name."""
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names must be unique: {names}")
    run_dir = Path(run_dir)
    summaries: dict[str, Any] = {}
    for stage in stages:
        folder = run_dir / stage.name
        if stage_done(run_dir, stage.name):
            log(f"stage {stage.name}: finished earlier, skipped")
            summaries[stage.name] = stage_summary(run_dir, stage.name)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        log(f"stage {stage.name}: running")
        start = time.perf_counter()
        summary = stage.run(folder)
        if is_writer:
            write_json(
                folder / DONE,
                {"summary": summary, "seconds": round(time.perf_counter() - start, 1)},
            )
        summaries[stage.name] = summary
    return summaries
