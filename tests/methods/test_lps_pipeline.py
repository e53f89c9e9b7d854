"""The LPS pipeline end to end on a tiny generated dataset: val priors, training, best model."""

from __future__ import annotations

import json

import pytest

from tests.engine.tiny import make_dataset
from weaksal.engine.config import load_config
from weaksal.inference.promoter import Promoter
from weaksal.methods.lps import gate as lps_gate
from weaksal.methods.lps import pipeline as lps
from weaksal.methods.lps.config import SECTIONS as LPS_SECTIONS
from weaksal.models import load_model

pytestmark = pytest.mark.slow


def tiny_config(tmp_path, *extra: str) -> dict:
    """The shipped LPS config on a 12-image generated set, 64 px, 32-dim embeddings."""
    data = make_dataset(tmp_path / "data", count=12)
    overrides = [
        f"data.train={data}",
        "model.pretrained=none",
        "model.input_size=64",
        "model.embed_dim=32",
        "train.batch_size=2",
        "validation.workers=1",
        "engine.precision=32-true",
        "engine.workers=0",
        "engine.accelerator=cpu",
        *extra,
    ]
    return load_config("configs/lps/lps_efficientnet_lite0.yaml", overrides, LPS_SECTIONS)


def test_tiny_lps_pipeline(tmp_path):
    config = tiny_config(
        tmp_path,
        "train.steps=4",
        "validation.limit=0",
        "engine.checkpoint_every=2",
        "engine.val_every=2",
    )
    run = tmp_path / "run"
    summaries = lps.train(config, run)
    assert list(summaries) == ["val_priors", "train"]
    val_stems = {f"img{i:03d}" for i in range(12) if i % 4 == 3}
    assert {p.stem for p in (run / "val_priors" / "maps").iterdir()} == val_stems
    assert summaries["train"]["best"]["key"] == "maxf"
    assert 0 < summaries["train"]["best"]["value"] <= 1
    model, spec = load_model(run / "final.safetensors")
    assert spec["architecture"] == "lps" and spec["region"] == "conv" and spec["embed_dim"] == 32
    log = [json.loads(line) for line in (run / "train" / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log if "val/maxf" in row] == [2, 4]
    again = lps.train(config, run)  # finished stages are skipped
    assert again == summaries


def test_the_gate_stage_calibrates_on_val_and_the_final_model_carries_it(tmp_path):
    config = tiny_config(
        tmp_path,
        "train.steps=2",
        "gate.priors=[mr, ft]",
        "gate.candidates=[0.0, 2.0]",  # 2.0: every prior kept (no map gains a certainty of 2)
        "gate.floors=[0.0, 1.0]",  # 1.0: no prior kept (none is certain everywhere)
        "gate.workers=1",
        "engine.val_every=0",
    )
    run = tmp_path / "run"
    summaries = lps.train(config, run)
    assert list(summaries) == ["val_priors", "train", "gate"]
    gate = summaries["gate"]
    assert gate["images"] == 3 and set(gate["priors"]) == {"mr", "ft"}
    assert set(gate["candidates"]) == {"None", "0.0@0.0", "0.0@1.0", "2.0@0.0", "2.0@1.0"}
    for prior, before in gate["priors"].items():  # keeping every prior reproduces its scores
        kept_all = gate["candidates"]["2.0@0.0"][prior]
        assert kept_all["kept"] == 1.0
        assert kept_all["mae"] == pytest.approx(before["mae"], abs=1e-9)
        assert kept_all["maxf"] == pytest.approx(before["maxf"], abs=1e-9)
        for ungated in ("None", "2.0@1.0"):  # above every prior's certainty: nothing kept
            assert gate["candidates"][ungated][prior] == gate["candidates"]["None"][prior]
            assert gate["candidates"][ungated][prior]["kept"] == 0.0
    # the choice follows the rule: a safe candidate (nothing worse) with the largest summed gain
    expected = lps_gate.choose_gate(
        gate["priors"],
        {
            None if k == "None" else tuple(float(x) for x in k.split("@")): v
            for k, v in gate["candidates"].items()
        },
        gate["tolerance"],
    )
    assert (gate["gate"], gate["gate_floor"]) == (expected or (None, 0.0))
    _, spec = load_model(run / "final.safetensors")
    assert (spec["gate"], spec["gate_floor"]) == (gate["gate"], gate["gate_floor"])
    own = Promoter.from_file(run / "final.safetensors")
    assert (own.gate, own.gate_floor) == (gate["gate"], gate["gate_floor"])
    assert Promoter.from_file(run / "final.safetensors", gate=None).gate is None


def test_choose_gate_prefers_safe_candidates_then_the_least_harm():
    before = {"weak": {"maxf": 0.6, "mae": 0.2}, "strong": {"maxf": 0.9, "mae": 0.05}}
    after = {
        None: {"weak": {"maxf": 0.8, "mae": 0.1}, "strong": {"maxf": 0.88, "mae": 0.07}},
        0.1: {"weak": {"maxf": 0.78, "mae": 0.11}, "strong": {"maxf": 0.9, "mae": 0.05}},
        0.3: {"weak": {"maxf": 0.6, "mae": 0.2}, "strong": {"maxf": 0.9, "mae": 0.05}},
    }
    assert lps_gate.choose_gate(before, after) == 0.1  # safe, and gains more than 0.3
    del after[0.1], after[0.3]
    after[0.2] = {"weak": {"maxf": 0.7, "mae": 0.15}, "strong": {"maxf": 0.895, "mae": 0.051}}
    assert lps_gate.choose_gate(before, after) == 0.2  # none safe: the smallest worst loss
    # a loss within the tolerance counts as none: 0.2 is safe (strong's max F -0.0005)
    after[0.2]["strong"] = {"maxf": 0.8995, "mae": 0.049}
    assert lps_gate.choose_gate(before, after, tolerance=0.001) == 0.2
    after[None]["strong"] = {"maxf": 0.8992, "mae": 0.05}  # also safe now, and gains more
    assert lps_gate.choose_gate(before, after, tolerance=0.001) is None
    assert lps_gate.choose_gate(before, after, tolerance=0.0) == 0.2  # strict: least harm
