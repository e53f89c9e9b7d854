"""JSM end to end on a tiny synthetic RGB-D set: stages, label rounds, exact resume, the ablation
settings, what is read; and the parts: the update rule, SSM, captions, TSM."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tests.conftest import make_tagged_saliency
from weaksal.data.layouts import Sample
from weaksal.data.make_rgbd import MakeRGBDSettings, make_rgbd_dataset
from weaksal.engine.config import load_config
from weaksal.methods.jsm import pipeline as jsm
from weaksal.methods.jsm.config import SECTIONS as JSM_SECTIONS
from weaksal.models import create_model, load_model, makes_saliency_from_rgb
from weaksal.refine.label_store import LabelStore

pytestmark = pytest.mark.slow


def _tiny(root, *more: str) -> dict:
    return load_config(
        "configs/jsm/jsm_efficientnet_lite0.yaml",
        [
            "model.pretrained=none",
            "model.input_size=64",
            f"data.train={root / 'set' / 'train'}",
            f"data.val={root / 'set' / 'val'}",
            f"data.test={root / 'set' / 'test'}",
            "initial.detectors=[ft,sr]",
            "initial.workers=1",
            "train.epochs=2",
            "train.batch_size=4",
            "update.every=1",
            "text.embedding=learned",
            "engine.precision=32-true",
            "engine.channels_last=false",
            "engine.workers=0",
            "engine.accelerator=cpu",
            "engine.checkpoint_every=1",
            "engine.log_every=1",
            *more,
        ],
        JSM_SECTIONS,
    )


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("jsm")
    source = make_tagged_saliency(root / "src", count=24, val_from=16)
    make_rgbd_dataset(source, root / "set", None, MakeRGBDSettings(train=10, val=4, test=4))
    return root


def _files(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.png"))
    }


@pytest.fixture(scope="module")
def straight(scenes):
    run = scenes / "straight"
    summaries = jsm.train(_tiny(scenes), run)
    return run, summaries


def test_pipeline_chooses_the_detector_on_val_and_renews_the_labels_every_epoch(straight):
    run, summaries = straight
    assert list(summaries) == ["initial", "joint", "test"]
    initial = summaries["initial"]
    scores = {name: s["maxf"] for name, s in initial["val"].items()}
    assert initial["chosen"] == max(scores, key=scores.get)
    store = LabelStore(run / "labels")
    assert store.rounds() == [0, 1, 2]  # round 0 and one update per epoch
    for round_ in (1, 2):
        info = store.info(round_)
        assert info["epoch"] == round_ and set(info["quality"]) == {"maxf", "mae"}
    round0, round1 = (_files(store.folder(r)) for r in (0, 1))
    assert len(round0) == len(round1) == 10
    # 10 scenes, batches of 4: the update reaches 8 (soft CRF labels at the training size); the
    # 2 left out by the last incomplete batch keep their round-0 label (as the code's files do)
    assert sum(round0[k] == round1[k.replace("round_0", "round_1")] for k in round0) == 2
    shapes = [np.asarray(Image.open(p)).shape for p in sorted(store.folder(1).glob("*.png"))]
    assert shapes.count((64, 64)) == 8
    model, spec = load_model(run / "final.safetensors")
    assert makes_saliency_from_rgb(spec) and spec["inputs"] == "rgb"  # RGB only at test time
    assert {"saliency", "depth", "text"} <= {p.stem for p in (run / "joint").glob("*.safetensors")}
    test = summaries["test"]
    assert set(test) == {"model", "initial_detector"}
    assert test["initial_detector"]["name"] == initial["chosen"]


def _weights(run) -> dict[str, torch.Tensor]:
    found = {}
    for name in ("saliency", "depth", "text"):
        for key, value in load_file(str(run / "joint" / f"{name}.safetensors")).items():
            found[f"{name}.{key}"] = value
    return found


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raise runs, no handler catches it."""


def test_a_run_killed_in_an_update_epoch_resumes_to_the_same_labels_and_weights(
    scenes, straight, monkeypatch
):
    run = scenes / "killed"
    writes = []
    real_write = LabelStore.write

    def write_then_die(self, round_, stem, label):
        path = real_write(self, round_, stem, label)
        writes.append((round_, stem))
        if round_ == 2 and len([w for w in writes if w[0] == 2]) == 6:
            raise Killed  # in epoch 2's update, after one full batch and half of the next
        return path

    monkeypatch.setattr(LabelStore, "write", write_then_die)
    with pytest.raises(Killed):
        jsm.train(_tiny(scenes), run)
    store = LabelStore(run / "labels")
    assert store.rounds() == [0, 1] and len(list(store.folder(2).glob("*.png"))) == 6
    monkeypatch.setattr(LabelStore, "write", real_write)
    jsm.train(_tiny(scenes), run)
    assert _files(run / "labels") == _files(straight[0] / "labels")
    first, second = _weights(straight[0]), _weights(run)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_ablation_settings_change_what_trains(scenes):
    run = scenes / "equal-no-ssm"
    config = _tiny(scenes, "update.confidence=equal", "ssm.enabled=false", "data.test=null")
    summaries = jsm.train(config, run)
    assert list(summaries) == ["initial", "joint"]
    assert not (run / "joint" / "depth.safetensors").exists()
    assert not (run / "joint" / "text.safetensors").exists()
    logged = [
        json.loads(line) for line in (run / "joint" / "metrics.jsonl").read_text().splitlines()
    ]
    assert {r["g"] for r in logged if "g" in r} == {0.5}  # g = d = 0.5
    fixed = scenes / "no-updates"
    jsm.train(_tiny(scenes, "update.every=0", "data.test=null"), fixed)
    assert LabelStore(fixed / "labels").rounds() == [0]


def test_fully_supervised_variant_starts_from_the_masks(scenes):
    run = scenes / "supervised"
    config = _tiny(scenes, "initial.source=ground_truth", "update.every=0", "data.test=null")
    summary = jsm.train(config, run)
    assert summary["initial"]["source"] == "ground_truth"
    store = LabelStore(run / "labels")
    train = jsm.open_set(config["data"]["train"], "train")
    for sample in train[:3]:
        label = np.asarray(Image.open(store.label_path(sample.stem)))
        truth = np.asarray(Image.open(sample.mask))
        assert np.array_equal(label, truth)


def test_training_reads_no_training_mask(scenes, monkeypatch):
    read = []
    real = jsm.read_mask
    monkeypatch.setattr(jsm, "read_mask", lambda p: read.append(str(p)) or real(p))
    monkeypatch.setattr(jsm, "label_quality", lambda *a: {})  # the one reporting exception
    jsm.train(_tiny(scenes, "data.test=null", "train.epochs=1"), scenes / "masks-read")
    assert read and all("/val/" in p for p in read)  # only the validation scenes' masks


# -- parts --------------------------------------------------------------------------------
def test_depth_semantic_map_is_the_code_formula():
    saliency = torch.tensor([[[[-1.0, 0.0], [0.5, 3.0]]]])
    depth = torch.tensor([[[[0.0, 2.0], [-2.0, 1.0]]]])
    res = torch.relu(2 * saliency - (1 - torch.sigmoid(depth)))
    expected = torch.sigmoid(res)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert torch.allclose(jsm.depth_semantic_map(saliency, depth), expected, atol=1e-6)
    without = jsm.depth_semantic_map(saliency, None)  # no SSM: sigmoid(D) = 0.5
    assert torch.allclose(without, jsm.depth_semantic_map(saliency, torch.zeros_like(depth)))


def test_update_weights_come_from_tsm_confidences(monkeypatch):
    """g = softmax(r_gt, r_d)[0]: a label TSM finds the word with gets the larger weight."""
    captions = jsm.encode_captions(
        [
            Sample("a", Path("a.jpg"), labels={"caps": (_entry("a cat here", "cat", 2),)}),
            Sample("b", Path("b.jpg")),
        ]
    )
    assert captions.words == ["", "a", "cat", "here"] and captions.targets == ["negative", "cat"]
    assert captions.tokens[0, :3].tolist() == [1, 2, 3] and captions.position.tolist()[0] == 2
    assert captions.target.tolist() == [1, -100]

    class Saliency(torch.nn.Module):
        def forward(self, x):
            from weaksal.models import Outputs

            return Outputs(
                saliency=torch.zeros(x.shape[0], 1, 32, 32), features=torch.ones(2, 4, 8, 8)
            )

    class Text(torch.nn.Module):  # the word is found when the mask's mean is high
        def forward(self, features, mask, tokens, position):
            from weaksal.models import Outputs

            score = mask.mean(dim=(1, 2, 3)) * 10
            return Outputs(words=torch.stack([-score, score], dim=1)[:, None])

    labels = torch.full((2, 1, 32, 32), 255, dtype=torch.uint8)
    images = torch.rand(2, 3, 32, 32)
    new, g = jsm.update_labels(
        {"saliency": Saliency(), "text": Text()}, images, labels, torch.tensor([0, 1]), captions,
        "tsm", "jsm",
    )  # fmt: skip
    assert new.shape == (2, 32, 32) and new.dtype == np.uint8
    # p(cat | full label) = sigmoid(20) ~ 1, p(cat | flat depth map, minmax 0) = 0.5, so
    # g = P_gt / (P_gt + P_d) = 2 / 3; the sample without a caption gets equal weights
    assert float(g[0]) == pytest.approx(2 / 3, abs=1e-4) and float(g[1]) == 0.5


def _entry(caption, word, slot):
    from weaksal.data.annotations import CapsEntry

    return CapsEntry(caption, word, slot)


def test_tsm_reads_frozen_minilm_vectors_and_predicts_over_the_dictionary():
    spec = {
        "architecture": "jsm_text",
        "backbone": "none",
        "words": ["", "a", "red", "mug", "golf-ball"],
        "targets": ["negative", "mug", "golf-ball"],
        "feature_channels": 8,
    }
    model = create_model(spec, "imagenet")
    table = model.word_table
    assert table.shape == (5, 384) and not table.requires_grad and float(table[0].abs().sum()) == 0
    from weaksal.nn.word_vectors import word_pieces, word_vectors

    assert word_pieces("golf-ball") == ["golf", "ball"]
    both = word_vectors(["golf", "ball"])
    assert torch.allclose(table[4], both.mean(0), atol=1e-6)
    out = model(
        torch.rand(2, 8, 4, 4),
        torch.rand(2, 1, 16, 16),
        torch.tensor([[1, 2, 0] + [0] * 17] * 2),
        torch.tensor([3, 3]),
    )
    assert out.words.shape == (2, 1, 3)


def test_the_trained_model_predicts_and_exports_from_rgb_alone(scenes, straight, tmp_path):
    from typer.testing import CliRunner

    from weaksal.cli import app
    from weaksal.inference.runtimes import OnnxRuntime, TorchRuntime, to_batch

    run, _ = straight
    images = scenes / "set" / "test" / "test_images"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["predict", "--model", str(run / "final.safetensors"), "--images", str(images),
         "--out", str(tmp_path / "maps")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for image in images.glob("*.jpg"):
        assert Image.open(tmp_path / "maps" / f"{image.stem}.png").size == Image.open(image).size
    onnx_file = tmp_path / "jsm.onnx"
    result = runner.invoke(
        app, ["export", "onnx", "--model", str(run / "final.safetensors"), "--out", str(onnx_file)]
    )
    assert result.exit_code == 0, result.output
    batch = to_batch([np.asarray(Image.open(p)) for p in sorted(images.glob("*.jpg"))], 64)
    model, _ = load_model(run / "final.safetensors")
    difference = OnnxRuntime(onnx_file).logits(batch) - TorchRuntime(model).logits(batch)
    assert np.abs(difference).max() < 1e-3
