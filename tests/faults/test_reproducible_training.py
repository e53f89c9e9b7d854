"""Faults: the shipped precision (bf16 autocast + channels_last) trains reproducibly on CPU (issue 15, defect 5).

What holds, and is tested here: on one machine with one torch build, two runs
of one config give bitwise-identical weights, in 32-true and in bf16-mixed;
a run killed and resumed ends bitwise-identical to an uninterrupted one, also
when the resuming process would have used another thread count (the engine
takes the count recorded in run.json).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.engine.tiny import finish, make_dataset, train_process, write_config

pytestmark = pytest.mark.slow
BF16 = ("engine.precision=bf16-mixed", "engine.channels_last=true", "engine.workers=1")


def _train(config: Path, out: Path, threads: str) -> subprocess.Popen:
    return train_process(config, out, *BF16, threads=threads)


def _finish(process: subprocess.Popen) -> str:
    return finish(process, timeout=600)


def _assert_same(a: Path, b: Path) -> None:
    first, second = load_file(str(a / "final.safetensors")), load_file(str(b / "final.safetensors"))
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.fixture(scope="module")
def tiny_bf16(tmp_path_factory):
    root = tmp_path_factory.mktemp("bf16")
    config = write_config(root / "tiny.yaml", make_dataset(root / "data", count=16), steps=8)
    straight = root / "straight"
    _finish(_train(config, straight, threads="2"))
    return root, config, straight


def test_two_bf16_runs_are_bitwise_identical(tiny_bf16):
    root, config, straight = tiny_bf16
    _finish(_train(config, root / "again", threads="2"))
    _assert_same(straight, root / "again")


def test_a_killed_bf16_run_resumes_exactly_with_the_recorded_thread_count(tiny_bf16):
    root, config, straight = tiny_bf16
    run = root / "killed"
    process = _train(config, run, threads="2")
    latest = run / "checkpoints" / "latest"
    deadline = time.time() + 300
    while not (latest.exists() and latest.read_text().strip() == "step-00000004"):
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.time() < deadline
        time.sleep(0.02)
    from tests.faults.test_signals import _alive, _children

    loader_workers = _children(process.pid)  # engine.workers=1: the data-loading process
    assert loader_workers
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in loader_workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in loader_workers)  # died with their parent
    assert not (run / "final.safetensors").exists()
    output = _finish(_train(config, run, threads="1"))  # another thread count is overruled
    assert "using 2 CPU threads as the run this resumes" in output
    _assert_same(straight, run)
    record = json.loads((run / "run.json").read_text())
    assert record["torch_threads"] == 2 and record["resumes"][0]["torch_threads"] == 2
