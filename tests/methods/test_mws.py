"""MWS: attention module, CNet/PNet, losses, coherence targets, sources, and the tiny pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import random_rgb, save_image
from tests.engine.tiny import make_dataset
from weaksal.backbones import create_backbone
from weaksal.classic.superpixels import slic_superpixels
from weaksal.data.imageio import read_image, read_prediction
from weaksal.data.layouts import Sample
from weaksal.data.vocabulary import Vocabulary
from weaksal.data.weak import CaptionedImages, caption_pairs
from weaksal.methods import table_models
from weaksal.methods.mws import config as mws_config
from weaksal.methods.mws import losses as mws_losses
from weaksal.methods.mws import pipeline as mws
from weaksal.models import MapAverage, Outputs
from weaksal.models._parts import LastStage
from weaksal.models.mws import AttentionModule, CNet, PNet
from weaksal.plumbing.errors import ConfigError, LayoutError
from weaksal.refine.refiners import refine


def _encoder():
    return create_backbone("efficientnet_lite0", pretrained="none", output_stride=16)


def cnet(num_classes: int = 5) -> CNet:
    encoder = _encoder()
    return CNet(encoder, LastStage(encoder), num_classes)


def pnet(vocab_size: int, feature_dim: int, hidden: int) -> PNet:
    encoder = _encoder()
    return PNet(encoder, LastStage(encoder), vocab_size, feature_dim, hidden)


def test_attention_module_is_eq_1_to_4():
    torch.manual_seed(0)
    module = AttentionModule(6, 4)
    for conv in (module.saliency, module.features, module.weights):
        torch.nn.init.normal_(conv.weight)
        torch.nn.init.normal_(conv.bias)
    v = torch.randn(2, 6, 3, 5)
    logits, g = module(v)
    for n in range(2):
        vectors = v[n].flatten(1).T  # (positions, channels)
        s = torch.sigmoid(vectors @ module.saliency.weight[0, :, 0, 0] + module.saliency.bias[0])
        f = s[:, None] * (vectors @ module.features.weight[:, :, 0, 0].T + module.features.bias)
        alpha = torch.softmax(f @ module.weights.weight[0, :, 0, 0] + module.weights.bias[0], 0)
        torch.testing.assert_close(logits[n].flatten(), torch.logit(s), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(g[n], (alpha[:, None] * f).sum(0), atol=1e-5, rtol=1e-5)
    module.saliency.bias.data.fill_(-80.0)  # a map that is off everywhere lets nothing through
    assert module(v)[1].abs().max() < 1e-6


def test_cnet_outputs_and_saliency_contract():
    net = cnet().eval()
    x = torch.rand(2, 3, 64, 64)
    out = net(x)
    assert out.classes.shape == (2, 5) and out.coarse.shape == (2, 1, 4, 4)  # stride 16
    torch.testing.assert_close(
        out.saliency, F.interpolate(out.coarse, size=(64, 64), mode="bilinear")
    )


def test_attention_on_a_fast_decoder_gives_stride_4_maps():
    from weaksal.models import create_model

    spec = {"architecture": "mws_cnet", "backbone": "efficientnet_lite0", "classes": list("ab")}
    net = create_model({**spec, "decoder": "unet"}, "none").eval()
    out = net(torch.rand(1, 3, 64, 64))
    assert out.coarse.shape == (1, 1, 16, 16) and out.saliency.shape == (1, 1, 64, 64)


def test_pnet_teacher_forcing_is_causal_and_generation_matches_it():
    torch.manual_seed(0)
    net = pnet(vocab_size=11, feature_dim=16, hidden=8).eval()
    x = torch.rand(1, 3, 32, 32)
    tokens = torch.tensor([[1, 5, 6, 7, 8, 2, 0]])
    words = net(x, tokens).words
    assert words.shape == (1, 7, 11)
    changed = tokens.clone()
    changed[0, 3] = 9
    words2 = net(x, changed).words
    torch.testing.assert_close(words[:, :4], words2[:, :4])  # steps <= 3 never see token 3
    assert not torch.allclose(words[:, 4], words2[:, 4])
    generated = net.generate(x, max_length=4)
    assert generated.shape == (1, 6)
    assert generated[0, 0] == words[0, 0].argmax()  # step 0 sees only g in both modes
    forced = torch.cat([torch.tensor([[1]]), generated[:, :-1]], dim=1)
    replay = net(x, forced).words  # feeding its own words back reproduces them
    assert torch.equal(replay[0, 1:].argmax(-1), generated[0, 1:])


def test_pnet_learns_a_caption():
    torch.manual_seed(0)
    vocabulary = Vocabulary.build(["a red square on grass"] * 4, min_count=1)
    net = pnet(len(vocabulary), feature_dim=32, hidden=32)
    tokens = torch.tensor([vocabulary.encode("a red square on grass")])
    x = torch.rand(1, 3, 32, 32)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.eval()  # BN statistics of one image would differ between training and decoding
    for _ in range(60):
        words = net(x, tokens).words
        loss = F.cross_entropy(words.flatten(0, 1), tokens.flatten(), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert vocabulary.decode(net.generate(x, 8)[0].tolist()) == "a red square on grass"


def test_losses_and_binarisation():
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 3.0]]]])
    expected = -torch.log(1 - torch.sigmoid(logits)).mean()
    torch.testing.assert_close(mws_losses.sparsity_loss(logits), expected)
    p = torch.tensor([[[[0.1, 0.1], [0.1, 0.5]]], [[[0.6, 0.7], [0.8, 0.9]]]])
    # 2x mean: image 0 mean 0.2 -> only 0.5 passes; image 1 mean 0.75 -> nothing reaches 1.5
    assert mws_losses.binarise(p, "2mean").flatten(1).tolist() == [[0, 0, 0, 1], [0, 0, 0, 0]]
    assert mws_losses.binarise(p, 0.5).flatten(1).tolist() == [[0, 0, 0, 1], [1, 1, 1, 1]]


def test_coherence_target_follows_the_object_seeded_by_both_maps():
    image = np.full((64, 64, 3), 30, np.uint8)
    image[16:48, 16:48] = (230, 40, 40)  # a red square on dark ground
    regions = torch.from_numpy(slic_superpixels(image, 60, 20.0).astype(np.int64)).unsqueeze(0)
    rgb = torch.from_numpy(image).permute(2, 0, 1).float().unsqueeze(0) / 255
    cnet = torch.zeros(1, 1, 4, 4)
    cnet[..., 1:3, 1:3] = 0.9  # a peak on the square...
    pnet = torch.zeros(1, 1, 4, 4)
    pnet[..., 1:2, 1:3] = 0.8  # ...and another on its top half only
    target = mws_losses.coherence_targets(rgb, [cnet, pnet], regions, seed_factor=1.0)
    assert target.shape == (1, 1, 4, 4)
    inside, outside = target[0, 0, 1:3, 1:3], target[0, 0].clone()
    outside[1:3, 1:3] = 0
    assert inside.min() > 0.9 and outside.max() < 0.1  # ranking spreads to the whole square
    flat = torch.full((1, 1, 4, 4), 0.5)  # code's 2x mean: no region stands out, empty target
    assert mws_losses.coherence_targets(rgb, [flat], regions, seed_factor=2.0).sum() == 0


def _coco(root, stems, captions):
    (root / "annotations").mkdir(parents=True)
    images = [{"id": i, "file_name": f"{s}.jpg"} for i, s in enumerate(stems)]
    annotations = [
        {"id": 100 + k, "image_id": i, "caption": c}
        for i, _ in enumerate(stems)
        for k, c in enumerate(captions[i])
    ]
    (root / "annotations" / "captions_train2017.json").write_text(
        json.dumps({"images": images, "annotations": annotations})
    )
    for i, stem in enumerate(stems):
        save_image(root / "train2017" / f"{stem}.jpg", random_rgb((48, 40), seed=i))
    return root


def test_caption_dataset_pads_each_caption():
    samples = [
        Sample("a", Path(__file__), labels={"captions": ("a dog runs", "dog")}),
        Sample("b", Path(__file__), labels={"captions": ("a cat",)}),
    ]
    vocabulary = Vocabulary.build(["a dog runs", "dog", "a cat"], min_count=1)
    dataset = CaptionedImages(samples, vocabulary, 32, max_length=4)
    assert len(dataset) == 3 and dataset.pairs[2] == (1, "a cat")
    assert dataset.tokens[0].tolist() == [*vocabulary.encode("a dog runs", 4), 0]
    assert dataset.tokens[1].tolist() == [1, vocabulary.index["dog"], 2, 0, 0, 0]
    with pytest.raises(LayoutError, match="no captions"):
        caption_pairs([Sample("c", Path(__file__))])


def _sources_config(tags, captions, unlabelled):
    from weaksal.engine.schema import resolve_config

    given = {"data": {"tags": tags, "captions": captions, "unlabelled": unlabelled}}
    return resolve_config(given, {"data": mws_config.MWSData})


def test_sources_plug_in(tmp_path):
    data = make_dataset(tmp_path / "tags", count=8)
    (data / "tags.csv").write_text(
        "image,tag\n" + "".join(f"img{i:03d},{'cat' if i % 2 else 'dog'}\n" for i in range(8))
    )
    coco = _coco(tmp_path / "coco", ["c0", "c1"], [["a cat", "a cat sits"], ["a dog"]])
    tags = {"dataset": str(data), "split": "train"}
    both = mws.Sources(_sources_config(tags, str(coco), [str(coco)]))
    assert both.stages() == ["init", "transfer", "coherence"]
    assert both.classes == ["cat", "dog"] and len(both.unlabelled) == 2
    assert mws.Sources(_sources_config(tags, None, [])).stages() == ["init"]
    assert mws.Sources(_sources_config(None, str(coco), [tags])).stages() == ["init", "coherence"]
    with pytest.raises(mws.WeaksalError, match="tags or captions"):
        mws.Sources(_sources_config(None, None, [tags]))


def _tiny_config(tmp_path, *extra):
    from weaksal.engine.config import load_config

    data = make_dataset(tmp_path / "tags", count=10)
    (data / "tags.csv").write_text(
        "image,tag\n" + "".join(f"img{i:03d},{'cat' if i % 2 else 'dog'}\n" for i in range(10))
    )
    coco = _coco(tmp_path / "coco", ["c0", "c1", "c2"], [["a cat"] * 2, ["a dog"] * 2, ["a cat"]])
    tags = f"{{dataset: {data}, split: train}}"
    overrides = [
        f"data.tags.dataset={data}",
        f"data.captions.dataset={coco}",
        f"data.unlabelled=[{tags}, {coco}]",
        f"data.pseudo_labels.dataset={data}",
        "data.min_word_count=1",
        "model.pretrained=none",
        "model.input_size=64",
        "model.feature_dim=16",
        "model.hidden=16",
        "init.steps=2",
        "init.batch_size=2",
        "joint.steps=2",
        "joint.batch_size=2",
        "snet.steps=2",
        "snet.batch_size=2",
        "labels.workers=1",
        "engine.precision=32-true",
        "engine.workers=0",
        "engine.accelerator=cpu",
        *extra,
    ]
    return load_config(
        "configs/mws/mws_efficientnet_lite0.yaml", overrides, mws_config.SECTIONS
    ), coco


def test_an_unknown_refiner_is_refused_before_any_stage(tmp_path):
    config, _ = _tiny_config(tmp_path, "labels.refine_later=itercfr")
    with pytest.raises(ConfigError, match="labels.refine_later: unknown refiner 'itercfr'"):
        mws.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # nothing started


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "stages"),
    [
        (["data.captions=null", "data.unlabelled=[]"], ["init", "labels", "snet", "final"]),
        (["data.tags=null"], ["init", "coherence", "labels", "snet", "final"]),
    ],
    ids=["tags-only", "captions-and-unlabelled"],
)
def test_tiny_pipeline_with_some_sources(tmp_path, extra, stages):
    config, _ = _tiny_config(tmp_path, *extra)
    summaries = mws.train(config, tmp_path / "run")
    assert list(summaries) == stages
    trained = summaries[stages[-4]]["networks"]
    assert trained == (["cnet"] if "data.tags=null" not in extra else ["pnet"])
    assert (tmp_path / "run" / "final.safetensors").is_file()


@pytest.mark.slow
def test_tiny_pipeline_and_caption_command(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from weaksal.cli import app
    from weaksal.data import datasets
    from weaksal.models import load_model

    data = tmp_path / "tags"  # where _tiny_config makes the tagged set
    config, coco = _tiny_config(
        tmp_path,
        "snet.rounds=2",
        f"data.validation={{dataset: {data}, split: val}}",
        "labels.refine_later=threshold",
        "labels.threshold_later=0.3",
    )
    training_reads = []
    real = datasets.read_mask
    monkeypatch.setattr(
        datasets, "read_mask", lambda path: training_reads.append(str(path)) or real(path)
    )
    run = tmp_path / "run"
    summaries = mws.train(config, run)
    assert list(summaries) == [
        "init", "transfer", "coherence", "labels", "snet", "labels2", "snet2", "final"
    ]  # fmt: skip
    # two SNet rounds, the second on labels from the first's maps; the better on val shipped
    scores = {name: summaries[name]["val"]["value"] for name in ("snet", "snet2")}
    assert summaries["final"]["round"] == max(scores, key=lambda n: (scores[n], n))
    chosen = run / summaries["final"]["round"] / "best.safetensors"
    assert (run / "final.safetensors").read_bytes() == chosen.read_bytes()
    assert len(list((run / "labels2" / "labels").iterdir())) == len(
        list((run / "labels" / "labels").iterdir())
    )
    # round 2's labels: SNet's map through labels.refine_later at threshold_later
    for label in (run / "labels2" / "labels").iterdir():
        image = read_image(data / "images" / f"{label.stem}.jpg")
        coarse = read_prediction(run / "labels2" / "coarse" / label.name)
        expected = refine("threshold", image, [coarse], threshold=0.3)
        np.testing.assert_array_equal(read_prediction(label), expected)
    assert summaries["transfer"]["transfer"] and not summaries["transfer"]["coherence"]
    assert summaries["coherence"]["coherence"]
    assert not [p for p in training_reads if "/masks/" in p]  # SNet saw pseudo-labels only
    labels = sorted(p.stem for p in (run / "labels" / "labels").iterdir())
    assert labels == sorted(f"img{i:03d}" for i in range(10) if i % 4 != 3)
    _, spec = load_model(run / "final.safetensors")
    assert spec["architecture"] == "snet" and spec["method"] == "mws"
    _, pnet_spec = load_model(run / "coherence" / "pnet.safetensors")
    assert {"cat", "dog", "a"} <= set(pnet_spec["vocabulary"])
    rows = table_models(run, "mws")
    assert list(rows) == ["Cls", "Cap", "Avg", "+AT", "+AC", "Sal"]
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        mean = (torch.sigmoid(rows["Cls"](x).saliency) + torch.sigmoid(rows["Cap"](x).saliency)) / 2
        torch.testing.assert_close(
            torch.sigmoid(rows["Avg"](x).saliency), mean, atol=1e-5, rtol=1e-4
        )
    result = CliRunner().invoke(
        app,
        [
            "caption",
            str(coco / "train2017" / "c0.jpg"),
            "--model",
            str(run / "coherence" / "pnet.safetensors"),
        ],
    )
    assert result.exit_code == 0, result.output
    words = result.output.split(": ", 1)[1].split()
    assert set(words) <= set(pnet_spec["vocabulary"])
    refused = CliRunner().invoke(
        app,
        ["caption", str(coco / "train2017" / "c0.jpg"), "--model", str(run / "final.safetensors")],
    )
    assert refused.exit_code != 0 and "cannot caption" in refused.output


class _Constant(torch.nn.Module):
    def __init__(self, probabilities):
        super().__init__()
        self.logits = torch.logit(torch.tensor(probabilities)).view(1, 1, 1, -1)

    def forward(self, rgb):
        return Outputs(saliency=self.logits.expand(rgb.shape[0], 1, 1, -1))


def test_map_average_and_its_per_image_normalisation():
    nets = [_Constant([0.1, 0.3, 0.5]), _Constant([0.01, 0.02, 0.03])]
    x = torch.zeros(2, 3, 1, 3)
    mean = torch.sigmoid(MapAverage(nets)(x).saliency)[0, 0, 0]
    torch.testing.assert_close(mean, torch.tensor([0.055, 0.16, 0.265]), atol=1e-5, rtol=1e-5)
    stretched = torch.sigmoid(MapAverage(nets, normalise=True)(x).saliency)[1, 0, 0]
    torch.testing.assert_close(stretched, torch.tensor([0.0, 0.5, 1.0]), atol=1e-5, rtol=1e-5)
