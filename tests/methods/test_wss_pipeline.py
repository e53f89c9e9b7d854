"""The WSS pipeline end to end on a tiny generated tagged dataset: stages, caching, no masks read."""

from __future__ import annotations

import json

import pytest

from tests.engine.tiny import make_dataset
from weaksal.data import datasets, imageio
from weaksal.engine.config import load_config
from weaksal.methods import pseudo_labels, wss
from weaksal.methods.wss.config import SECTIONS as WSS_SECTIONS
from weaksal.models import load_model

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("decoder", ["paper", "fpn"])
def test_tiny_pipeline_runs_caches_and_never_reads_training_masks(tmp_path, monkeypatch, decoder):
    data = make_dataset(tmp_path / "data", count=12)
    (data / "tags.csv").write_text(
        "image,tag\n" + "".join(f"img{i:03d},{'cat' if i % 2 else 'dog'}\n" for i in range(12))
    )
    overrides = [
        f"data.train={data}",
        "model.pretrained=none",
        "model.input_size=64",
        "stage1.steps=3",
        "stage1.batch_size=4",
        "stage2.steps=2",
        "stage2.batch_size=2",
        "labels.workers=1",
        "engine.precision=32-true",
        "engine.workers=0",
        "engine.accelerator=cpu",
        "engine.checkpoint_every=2",
        "engine.val_every=0",
        f"model.decoder={decoder}",
        "labels.sizes=[64, 96]",  # round-I and round-II maps averaged over two sizes and flips
        "labels.flip=true",
        "labels.later_sizes=[64, 96]",
        "labels.later_flip=true",
    ]
    config = load_config("configs/wss/wss_efficientnet_lite0.yaml", overrides, WSS_SECTIONS)
    masks_read, training_reads = [], []
    real_read_mask = imageio.read_mask

    def spy(log):
        def read(path):
            log.append(str(path))
            return real_read_mask(path)

        return read

    monkeypatch.setattr(pseudo_labels, "read_mask", spy(masks_read))
    monkeypatch.setattr(datasets, "read_mask", spy(training_reads))
    run = tmp_path / "run"
    summaries = wss.train(config, run)
    assert list(summaries) == ["stage1", "labels1", "round1", "labels2", "round2", "final"]
    # each round validated on the held-out masks at its last step; the better round is shipped
    scores = {name: summaries[name]["val"]["value"] for name in ("round1", "round2")}
    assert summaries["final"]["round"] == max(scores, key=lambda name: (scores[name], name))
    assert summaries["final"]["file"] == "best.safetensors"
    chosen = run / summaries["final"]["round"] / "best.safetensors"
    assert (run / "final.safetensors").read_bytes() == chosen.read_bytes()
    assert summaries["stage1"]["classes"] == 2
    train_stems = {f"img{i:03d}" for i in range(12) if i % 4 != 3}
    labels = sorted(p.stem for p in (run / "labels1" / "labels").iterdir())
    assert set(labels) == train_stems
    assert training_reads and not [
        p for p in training_reads if "/masks/" in p
    ]  # trained on labels only
    ground_truth_reads = [p for p in masks_read if "/masks/" in p]
    # masks are read only by label_quality, after the labels exist (reporting)
    assert ground_truth_reads and all(p.endswith(".png") for p in ground_truth_reads)
    quality = json.loads((run / "labels1" / "quality.json").read_text())
    assert 0.0 <= quality["labels"]["mae"] <= 1.0
    model, spec = load_model(run / "final.safetensors")
    assert spec["architecture"] == "wss" and spec["decoder"] == decoder
    before = (run / "final.safetensors").stat().st_mtime_ns
    assert wss.train(config, run) == summaries  # every stage cached
    assert (run / "round2" / "fcn.safetensors").stat().st_mtime_ns <= before


def test_an_unknown_refiner_is_refused_before_any_stage(tmp_path):
    from weaksal.plumbing.errors import ConfigError

    config = load_config(
        "configs/wss/wss_efficientnet_lite0.yaml", ["labels.refine=crf"], WSS_SECTIONS
    )
    with pytest.raises(ConfigError, match="labels.refine: unknown refiner 'crf'.*itercrf"):
        wss.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
