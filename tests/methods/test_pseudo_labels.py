"""Pseudo-label helpers: averaged coarse maps, the label gate, source maps, the round chosen on val."""

from __future__ import annotations

import numpy as np
import torch

from tests.engine.tiny import make_dataset
from weaksal.data.imageio import read_image, read_prediction
from weaksal.data.layouts import Sample, index_saliency
from weaksal.inference.runtimes import TorchRuntime, predict_images
from weaksal.methods.pseudo_labels import (
    averaged_maps,
    foreground_fraction,
    plausible_labels,
    write_source_maps,
)
from weaksal.methods.self_training import chosen_round
from weaksal.models import create_model, save_model
from weaksal.plumbing.atomic import write_png


class ColumnRuntime:
    """Logits that say "salient" on the left third of whatever it is given, at its size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def logits(self, batch: np.ndarray) -> np.ndarray:
        n, _, h, w = batch.shape
        self.sizes.append(h)
        out = np.full((n, 1, h, w), -50.0, np.float32)
        out[..., : w // 3] = 50.0
        return out


def test_averaged_maps_undo_the_mirror_and_average_every_view():
    image = np.zeros((30, 60, 3), np.uint8)
    runtime = ColumnRuntime()
    (plain,) = averaged_maps(runtime, [image], [48])
    assert plain.shape == (30, 60)
    assert plain[:, :15].min() > 0.99 and plain[:, 25:].max() < 0.01
    (mirrored,) = averaged_maps(runtime, [image], [48], flip=True)
    # the runtime fires on the left third of the mirrored input, which is the image's right
    # third once mirrored back: the two views average to a half on each side
    assert np.allclose(mirrored[:, :15], 0.5, atol=0.01)
    assert np.allclose(mirrored[:, 45:], 0.5, atol=0.01)
    assert mirrored[:, 25:35].max() < 0.01
    runtime.sizes.clear()
    averaged_maps(runtime, [image, image], [32, 64], flip=True)
    assert runtime.sizes == [32, 32, 64, 64]  # two scales, each plain and mirrored, batched


def test_label_gate_drops_empty_and_full_frame_labels(tmp_path):
    shares = {"empty": 0.0, "small": 0.02, "half": 0.5, "full": 1.0}
    samples = []
    for stem, share in shares.items():
        label = np.zeros((10, 20), np.uint8)
        label.reshape(-1)[: int(round(share * 200))] = 255
        write_png(tmp_path / f"{stem}.png", label)
        samples.append(Sample(stem, tmp_path / f"{stem}.png"))
        assert foreground_fraction(tmp_path / f"{stem}.png") == share
    kept, dropped = plausible_labels(samples, tmp_path, 0.01, 0.9)
    assert [s.stem for s in kept] == ["small", "half"]
    assert dropped == ["empty", "full"]
    kept, dropped = plausible_labels(samples, tmp_path, 0.0, 1.0)  # the gate open: all kept
    assert len(kept) == 4 and dropped == []


def test_the_round_with_the_best_validation_is_chosen():
    summaries = {
        "round1": {"val": {"key": "maxf", "value": 0.71, "step": 400}},
        "round2": {"val": {"key": "maxf", "value": 0.74, "step": 800}},
        "round3": {"val": {"key": "maxf", "value": 0.73, "step": 1200}},
    }
    rounds = ["round1", "round2", "round3"]
    assert chosen_round(summaries, rounds) == "round2"
    summaries["round3"]["val"]["value"] = 0.74  # a tie goes to the later round
    assert chosen_round(summaries, rounds) == "round3"
    unscored = {"snet": {"val": {}}, "snet2": {"val": {}}}
    assert chosen_round(unscored, ["snet", "snet2"]) == "snet2"  # no validation: the last


def test_source_maps_come_from_a_detector_or_a_model_file(tmp_path):
    samples = list(index_saliency(make_dataset(tmp_path / "data", count=3)))
    write_source_maps("ft", samples, tmp_path / "ft", workers=1)
    assert sorted(p.stem for p in (tmp_path / "ft").iterdir()) == [s.stem for s in samples]
    spec = {"architecture": "snet", "backbone": "efficientnet_lite0", "decoder": "fpn",
            "input_size": 64}  # fmt: skip
    torch.manual_seed(0)
    model = create_model(spec, pretrained="none").eval()
    save_model(tmp_path / "m.safetensors", model, spec)
    write_source_maps(str(tmp_path / "m.safetensors"), samples, tmp_path / "m", workers=1)
    image = read_image(samples[0].image)
    (expected,) = predict_images(TorchRuntime(model), [image], 64)
    written = read_prediction(tmp_path / "m" / f"{samples[0].stem}.png")
    assert written.shape == image.shape[:2]
    assert np.abs(written.astype(float) - np.round(expected * 255)).max() <= 1
