"""Training logs as CSV through Fabric's CSV logger, rebuilt whole from metrics.jsonl."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from weaksal.cli import app
from weaksal.engine.log_views import export_run_logs, write_views


def write_log(path, records, cut_line=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text + ('{"step": 9, "lo' if cut_line else ""))


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_view_has_every_logged_step_once_and_survives_rebuilding(tmp_path):
    log = tmp_path / "run" / "stage1" / "metrics.jsonl"
    records = [
        {"time": 1.0, "step": 2, "loss": 0.5, "lr": 0.01},
        {"time": 2.0, "step": 4, "loss": 0.25, "lr": 0.01},
        {"time": 3.0, "step": 4, "val/maxf": 0.75},
    ]
    write_log(log, records, cut_line=True)  # a line cut by a kill is not a row
    for _ in range(2):  # a resumed stage rebuilds the view: no repeated rows
        (path,) = write_views(log)
    rows = read_csv(path)
    assert path == log.parent / "logs" / "metrics.csv"
    assert [(r["step"], r["loss"], r["val/maxf"]) for r in rows] == [
        ("2", "0.5", ""), ("4", "0.25", ""), ("4", "", "0.75")
    ]  # fmt: skip
    assert "time" not in rows[0]


def test_logs_command_covers_every_stage_and_names_the_tensorboard_fix(tmp_path, monkeypatch):
    for stage in ("stage1", "round1"):
        write_log(tmp_path / "run" / stage / "metrics.jsonl", [{"step": 1, "loss": 1.0}])
    result = CliRunner().invoke(app, ["logs", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert sorted(p.parent.parent.name for p in export_run_logs(tmp_path / "run")) == [
        "round1", "stage1"
    ]  # fmt: skip
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    result = CliRunner().invoke(app, ["logs", str(tmp_path / "run"), "--tensorboard"])
    assert result.exit_code == 2 and "pip install tensorboard" in result.output
    result = CliRunner().invoke(app, ["logs", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no metrics.jsonl" in result.output


@pytest.mark.parametrize("view", ["html"])
def test_unknown_view_is_refused(tmp_path, view):
    write_log(tmp_path / "metrics.jsonl", [{"step": 1, "loss": 1.0}])
    with pytest.raises(ValueError, match="csv, tensorboard"):
        write_views(tmp_path / "metrics.jsonl", (view,))
