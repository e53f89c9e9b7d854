from __future__ import annotations

import pytest

from weaksal.engine.stages import Stage, run_pipeline, stage_done
from weaksal.plumbing.batch import Job, run_batch


def test_finished_stages_are_skipped_and_an_interrupted_one_keeps_its_files(tmp_path):
    calls: list[str] = []
    made: list[str] = []
    crashed: list[bool] = []

    def train(folder):
        calls.append("train")
        (folder / "weights.txt").write_text("w")
        return {"loss": 0.5}

    def write_label(name, output):
        if name == "c" and not crashed:
            crashed.append(True)
            made.append("crash")
            raise KeyboardInterrupt  # killed after a and b were written
        made.append(name)
        output.write_text(name)

    def label(folder):
        calls.append("label")
        jobs = [Job(n, folder / f"{n}.txt", (n,)) for n in "abcd"]
        report = run_batch(write_label, jobs, workers=1)
        return {"written": len(report.done), "kept": len(report.kept)}

    stages = [Stage("train", train), Stage("labels", label)]
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(tmp_path, stages, log=lambda _: None)
    assert stage_done(tmp_path, "train") and not stage_done(tmp_path, "labels")
    summaries = run_pipeline(tmp_path, stages, log=lambda _: None)
    assert calls == ["train", "label", "label"]  # train not repeated
    assert summaries == {"train": {"loss": 0.5}, "labels": {"written": 2, "kept": 2}}
    assert made == ["a", "b", "crash", "c", "d"]  # a and b not recomputed
    assert run_pipeline(tmp_path, stages, log=lambda _: None) == summaries
    assert calls == ["train", "label", "label"]


def test_stage_names_must_be_unique(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        run_pipeline(tmp_path, [Stage("a", lambda f: 1), Stage("a", lambda f: 2)])
