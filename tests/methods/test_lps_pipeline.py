"""The LPS pipeline end to end on a tiny generated dataset: val priors, training, best model."""

from __future__ import annotations

import json

import pytest

from tests.engine.tiny import make_dataset
from weaksal.engine.config import load_config
from weaksal.methods import lps
from weaksal.models import load_model

pytestmark = pytest.mark.slow


def test_tiny_lps_pipeline(tmp_path):
    data = make_dataset(tmp_path / "data", count=12)
    overrides = [
        f"data.train={data}",
        "model.pretrained=none",
        "model.input_size=64",
        "model.embed_dim=32",
        "train.steps=4",
        "train.batch_size=2",
        "validation.limit=0",
        "validation.workers=1",
        "engine.precision=32-true",
        "engine.workers=0",
        "engine.accelerator=cpu",
        "engine.checkpoint_every=2",
        "engine.val_every=2",
    ]
    config = load_config("configs/lps/lps_efficientnet_lite0.yaml", overrides)
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
