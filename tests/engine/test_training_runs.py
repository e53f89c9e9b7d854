"""End-to-end runs of the engine on a tiny generated dataset: exact resume, DDP, run records."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.engine.tiny import finish as _finish
from tests.engine.tiny import make_dataset, write_config
from tests.engine.tiny import train_process as _train

pytestmark = pytest.mark.slow


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "final.safetensors"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    data = make_dataset(root / "data", count=16)
    config = write_config(root / "tiny.yaml", data, steps=10)
    straight = root / "straight"
    _finish(_train(config, straight))
    return root, config, straight


def test_uninterrupted_run_writes_its_record(tiny):
    root, config, run = tiny
    assert (run / "config.yaml").read_text().startswith("method: reference")
    record = json.loads((run / "run.json").read_text())
    assert record["seed"] == 3 and record["versions"]["torch"] == torch.__version__
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [line["step"] for line in lines if "loss" in line]
    assert steps == list(range(1, 11))
    import csv

    with open(run / "logs" / "metrics.csv", newline="") as handle:  # the Fabric CSV view
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows if r["loss"]] == steps
    validations = [line for line in lines if "val/maxf" in line]
    assert [v["step"] for v in validations] == [4, 8, 10]
    assert all(0.0 <= v["val/mae"] <= 1.0 for v in validations)
    best = json.loads((run / "summary.json").read_text())["best"]
    assert best["value"] == max(v["val/maxf"] for v in validations)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "latest",
        "step-00000008",
        "step-00000010",
    ]


def test_train_reads_the_method_from_the_config_and_says_where_the_models_are(tiny):
    root, config, _ = tiny
    run = root / "unnamed"
    output = _finish(_train(config, run, "train.steps=2", "engine.val_every=2", method=()))
    assert f"models: {run / 'best.safetensors'}" in output  # the reference ships its best
    assert f"Use: weaksal predict IMAGES --model {run / 'best.safetensors'}" in output
    assert f"weaksal ship {run} NAME" in output
    assert json.loads((run / "run.json").read_text())["argv"][1:3] == ["train", "--config"]


def test_sigkill_mid_epoch_then_resume_ends_bitwise_equal(tiny):
    root, config, straight = tiny
    run = root / "killed"
    process = _train(config, run)
    latest = run / "checkpoints" / "latest"
    deadline = time.time() + 240
    while not (latest.exists() and latest.read_text().strip() == "step-00000004"):
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.time() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "final.safetensors").exists()  # really killed before the end
    output = _finish(_train(config, run))
    assert "resumed from" in output
    expected, resumed = _weights(straight), _weights(run)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key


def test_resuming_with_another_config_is_refused(tiny):
    root, config, straight = tiny
    output = _train(config, straight, "train.lr=0.5").communicate(timeout=120)[0]
    assert "train.lr" in output and "another config" in output


def test_two_ddp_processes_match_one_process_with_the_same_global_batch(tiny):
    root, config, straight = tiny
    ddp = root / "ddp"
    launcher = (
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29400 + os.getpid() % 500),
    )
    _finish(_train(config, ddp, "engine.devices=2", "engine.strategy=ddp", launcher=launcher))
    single, parallel = _weights(straight), _weights(ddp)
    moved = max(
        (single[k] - load_file(str(straight / "checkpoints/step-00000008/snet.safetensors"))[k])
        .abs()
        .max()
        .item()
        for k in single
    )
    largest = max((single[k] - parallel[k]).abs().max().item() for k in single)
    assert largest < 1e-5 < moved
