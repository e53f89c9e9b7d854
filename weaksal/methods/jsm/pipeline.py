"""JSM (Li, Ji et al., NeurIPS 2021): weakly-supervised RGB-D saliency from depth and text.

Training reads RGB, raw depth, a caption with its salient word (CapS) and
initial pseudo-labels from a handcrafted detector; the model it produces
reads **RGB only**. The pipeline, one cached stage each::

    initial  round 0 of the label store: the classical detector (``initial.detectors``)
             with the highest max F on the *validation* scenes, run on the training
             scenes (or CapS's own ``fake_mask``, or the ground truth for the
             fully-supervised upper bound)
    joint    the saliency network (attention + detection maps, BCE to the current
             label), the depth network on RGB regressing the saliency-masked depth
             (SSM, Eq. 1: target depth * [max(minmax(gauss31(att)), att) > 0.05],
             MSE on both maps) and TSM (fill-in-the-blank: the salient word from the
             features masked by the saliency map, ``negative`` from the background),
             one Adam each, gradients clamped to +-0.5. Every ``update.every``-th
             epoch each batch's labels are renewed on the un-augmented originals
             (the JSM rule, below) into the store's next round, committed at the
             epoch's end; the maximum-F model on the validation scenes is kept
    test     that model on the test scenes, RGB only, beside the initial detector

The label update (``joint_semantic.py`` of the released code), all without gradients::

    S, D, vis       detection logits, depth network's detection map, features
    depth_sem     = minmax(sigmoid(relu(2 S - (1 - sigmoid(D)))))
    r_gt, r_d     = log p(word | vis * label), log p(word | vis * depth_sem)     (TSM)
    (g, d)        = softmax(r_gt, r_d)
    new label     = CRF_jsm(minmax(sigmoid(g * label + d * depth_sem)))   (soft; CRF at 256 x 256)

The ablation rows are settings: ``update.every: 0`` (the initial labels only),
``update.confidence: equal`` (g = d = 0.5, no text), ``ssm: false`` (no depth
network: D = 0, so the depth term is a constant), and ``initial.source:
ground_truth`` with no updates (the fully-supervised variant).
``bench/jsm_tables.py`` runs them all.

Deviations from the released code, each for a reason: the networks are our
backbones and decoders (``weaksal.models.jsm``), the schedule is scaled to
this CPU (``train.epochs``, ``update.every``); the label update runs the
networks in eval mode (the code leaves batch normalisation in training mode,
so a label depended on the batch it was drawn with); and the labels are
versioned rounds of a :class:`~weaksal.refine.label_store.LabelStore`
instead of files overwritten in place after a ``cp -r`` backup, so a run
killed in an update epoch resumes to the same labels and weights.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from weaksal.data.augment import colour_jitter, flip_generator, random_affine
from weaksal.data.datasets import RGBDDataset, resize_square
from weaksal.data.discover import open_dataset
from weaksal.data.imageio import binarize, read_mask, read_prediction
from weaksal.data.layouts import Sample
from weaksal.data.sources import local_or_data_path
from weaksal.engine.loop import network_spec
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.stages import Stage, run_pipeline, stage_summary, start_pipeline
from weaksal.engine.trainer import Trainer
from weaksal.methods.evaluation import (
    evaluate_model,
    headline,
    keep_best,
    kept_model,
    validate_saliency,
)
from weaksal.methods.jsm.config import SECTIONS
from weaksal.methods.jsm.losses import ssm_target
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.models import create_model, load_model, save_model
from weaksal.models.jsm import NEGATIVE, SLOTS, gaussian_kernel, minmax
from weaksal.plumbing.atomic import write_json
from weaksal.plumbing.errors import DataError
from weaksal.refine.label_store import LabelStore

WORDS = SLOTS - 1  # caption words after the start slot


# -- data -------------------------------------------------------------------------------
def open_set(name: str, kind: str) -> list[Sample]:
    samples = open_dataset(local_or_data_path(name)).samples
    if not samples:
        raise DataError(
            local_or_data_path(name), f"the {kind} set holds no samples", "check data." + kind
        )
    return samples


@dataclass(frozen=True)
class Captions:
    """Every training sample's caption as word indices, its masked slot and target word."""

    words: list[str]  # the caption vocabulary, 0 = padding / unknown
    targets: list[str]  # the dictionary TSM predicts over, 0 = negative
    tokens: torch.Tensor  # (n, 20) long
    position: torch.Tensor  # (n,) long, the salient word's slot (1..20)
    target: torch.Tensor  # (n,) long, -100 where a sample has no usable caption


def caption_entry(sample: Sample) -> tuple[list[str], int, str] | None:
    """(words, slot, salient word) of a sample's first CapS row with a usable slot, or None."""
    for entry in sample.label("caps"):
        words = entry.caption.split()
        slot = entry.position
        if slot is None and entry.semantic in words:
            slot = words.index(entry.semantic) + 1
        if entry.semantic and slot is not None and 1 <= slot <= min(len(words), WORDS):
            return words, slot, entry.semantic
    return None


def encode_captions(samples: list[Sample]) -> Captions:
    entries = [caption_entry(s) for s in samples]
    usable = [e for e in entries if e is not None]
    words = ["", *sorted({w for e in usable for w in e[0]})]
    targets = [NEGATIVE, *sorted({e[2] for e in usable})]
    index, target_index = {w: i for i, w in enumerate(words)}, {w: i for i, w in enumerate(targets)}
    tokens = torch.zeros(len(samples), WORDS, dtype=torch.long)
    position = torch.ones(len(samples), dtype=torch.long)
    target = torch.full((len(samples),), -100, dtype=torch.long)
    for row, entry in enumerate(entries):
        if entry is None:
            continue
        caption, slot, word = entry
        ids = [index.get(w, 0) for w in caption[:WORDS]]
        tokens[row, : len(ids)] = torch.tensor(ids)
        position[row], target[row] = slot, target_index[word]
    return Captions(words, targets, tokens, position, target)


# -- the initial labels ----------------------------------------------------------------
def saliency_scores(maps: Path, samples: list[Sample]) -> dict[str, float]:
    """Max F (mean over images) and MAE of the maps in ``maps`` against the samples' masks."""
    evaluator = SaliencyEvaluator(maxf="mean", structure=False)
    for sample in samples:
        prediction = read_prediction(maps / f"{sample.stem}.png")
        truth = read_mask(sample.mask)
        if prediction.shape != truth.shape:
            prediction = cv2.resize(prediction, truth.shape[::-1], interpolation=cv2.INTER_LINEAR)
        evaluator.step(prediction, truth, sample.stem)
    results = evaluator.results()
    return {"maxf": results["maxf"], "mae": results["mae"]}


def make_initial_labels(
    config: dict[str, Any], folder: Path, store: LabelStore, train: list[Sample], val: list[Sample]
) -> dict[str, Any]:
    """Round 0 of the label store, and how it was chosen."""
    from weaksal.classic.files import write_detector_maps

    settings = config["initial"]
    summary: dict[str, Any] = {"source": settings["source"]}
    if store.is_committed(0):
        return {**summary, **store.info(0)}
    if settings["source"] == "detector":
        scores = {}
        for name in settings["detectors"]:
            write_detector_maps(name, val, folder / "val" / name, int(settings["workers"]))
            scores[name] = saliency_scores(folder / "val" / name, val)
        chosen = max(scores, key=lambda name: scores[name]["maxf"])
        summary.update(val=scores, chosen=chosen)
        write_detector_maps(chosen, train, store.folder(0), int(settings["workers"]))
    else:
        for sample in train:
            path = sample.label("prior") if settings["source"] == "prior" else sample.mask
            if path is None:
                raise DataError(
                    sample.image,
                    f"has no {'fake_mask' if settings['source'] == 'prior' else 'mask'}",
                    "give every training image one, or set initial.source: detector",
                )
            if not store.missing(0, [sample.stem]):
                continue
            label = read_mask(path)
            if settings["source"] == "ground_truth":
                label = binarize(label).astype(np.uint8) * 255
            store.write(0, sample.stem, label)
    summary["quality"] = label_quality(store, 0, train)  # reported only
    store.commit(0, [s.stem for s in train], summary)
    return summary


# -- the labels in memory -----------------------------------------------------------------
def load_round(store: LabelStore, round_: int, samples: list[Sample], size: int) -> torch.Tensor:
    """``uint8 (n, 1, size, size)``: every sample's label of ``round_``, at the training size."""
    labels = torch.empty(len(samples), 1, size, size, dtype=torch.uint8)
    for row, sample in enumerate(samples):
        label = read_prediction(store.label_path(sample.stem, round_))
        labels[row, 0] = torch.from_numpy(resize_square(label, size))
    return labels


def label_quality(store: LabelStore, round_: int, samples: list[Sample]) -> dict[str, float]:
    """A round's labels against the training masks: reported, never used to train or choose."""
    with_masks = [s for s in samples if s.mask is not None]
    return saliency_scores(store.folder(round_), with_masks) if with_masks else {}


def finish_round(
    store: LabelStore, round_: int, samples: list[Sample], epoch: int
) -> dict[str, float]:
    """Commit ``round_``: samples no batch reached this epoch keep their previous label."""
    for stem in store.missing(round_, [s.stem for s in samples]):
        shutil.copyfile(store.label_path(stem, round_ - 1), store.folder(round_) / f"{stem}.png")
    quality = label_quality(store, round_, samples)
    store.commit(round_, [s.stem for s in samples], {"epoch": epoch + 1, "quality": quality})
    return quality


# -- one label update (the JSM rule) ---------------------------------------------------
def depth_semantic_map(saliency: torch.Tensor, depth: torch.Tensor | None) -> torch.Tensor:
    """``minmax(sigmoid(relu(2 S - (1 - sigmoid(D)))))``; D = 0 without SSM."""
    depth_term = torch.sigmoid(depth) if depth is not None else torch.full_like(saliency, 0.5)
    return minmax(torch.sigmoid(F.relu(2 * saliency - (1 - depth_term))))


def word_log_probability(text, features, mask, captions: Captions, rows) -> torch.Tensor:
    """TSM's log-probability of each sample's salient word with ``mask`` as the visual mask."""
    out = text(features, mask, captions.tokens[rows], captions.position[rows]).words[:, 0]
    target = captions.target[rows].clamp(min=0)
    return F.log_softmax(out.float(), dim=1).gather(1, target[:, None])[:, 0]


@torch.no_grad()
def update_labels(
    nets: dict[str, torch.nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    rows: torch.Tensor,
    captions: Captions,
    confidence: str,
    preset: str,
) -> tuple[np.ndarray, torch.Tensor]:
    """New labels of one batch (uint8, soft, at the training size; the CRF itself runs at
    256 x 256 as the code's), and each sample's weight g of its current label."""
    from weaksal.refine.dense_crf import refine_saliency

    modes = {name: net.training for name, net in nets.items()}
    for net in nets.values():
        net.eval()
    out = nets["saliency"](images)
    saliency = out.saliency.float()
    depth = nets["depth"](images).depth.float() if "depth" in nets else None
    depth_sem = depth_semantic_map(saliency, depth)
    label = labels.float() / 255.0
    g = torch.full((images.shape[0],), 0.5)
    has_text = captions.target[rows] >= 0
    if confidence == "tsm" and bool(has_text.any()):
        features = out.features.float()
        r_gt = word_log_probability(nets["text"], features, label, captions, rows)
        r_d = word_log_probability(nets["text"], features, depth_sem, captions, rows)
        weights = torch.softmax(torch.stack([r_gt, r_d], dim=1), dim=1)
        g = torch.where(has_text, weights[:, 0].cpu(), g)  # no caption: equal weights
    g4 = g.to(label.device).view(-1, 1, 1, 1)
    mixed = minmax(torch.sigmoid(g4 * label + (1 - g4) * depth_sem))[:, 0].cpu().numpy()
    pictures = images.float().mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    refined = np.stack(
        [
            refine_saliency(picture, probability, preset)
            for picture, probability in zip(pictures, mixed, strict=True)
        ]
    )
    for name, net in nets.items():
        net.train(modes[name])
    return refined, g


# -- the joint training ------------------------------------------------------------------


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x.float(), size=like.shape[-2:], mode="bilinear", align_corners=False)


def augment(trainer, t: dict[str, Any], step: int, images, labels, depth):
    """The code's flip / crop / rotation (p 0.2) and colour enhancement, from (seed, step)."""
    generator = flip_generator(trainer.seed, step)
    rank, world = trainer.fabric.global_rank, trainer.fabric.world_size
    images, (labels, depth), _ = random_affine(
        images,
        [labels, depth],
        [],
        generator,
        float(t["rotate"]),
        float(t["crop"]),
        bool(t["flip"]),
        rank,
        world,
        rotate_prob=float(t["rotate_prob"]),
    )
    if t["colour"]:
        images = colour_jitter(images, generator, rank, world)
    return images, labels, depth


def joint_training(
    config: dict[str, Any],
    folder: Path,
    resume: bool,
    store: LabelStore,
    train: list[Sample],
    val: list[Sample],
) -> dict[str, Any]:
    t, u, m = config["train"], config["update"], config["model"]
    steps_per_epoch = len(train) // int(t["batch_size"])
    if steps_per_epoch == 0:
        raise DataError(
            local_or_data_path(config["data"]["train"]),
            f"{len(train)} training images cannot fill one batch of {t['batch_size']}",
            "lower train.batch_size",
        )
    engine = {**config["engine"], "val_every": steps_per_epoch}  # validate at each epoch's end
    trainer = Trainer({**config, "stage": "joint", "engine": engine}, folder, resume)
    size, channels_last = int(m["input_size"]), bool(config["engine"]["channels_last"])
    tau, confidence = int(u["every"]), u["confidence"]
    captions = encode_captions(train)
    if confidence == "tsm" and tau and not bool((captions.target >= 0).any()):
        raise DataError(
            local_or_data_path(config["data"]["train"]),
            "no training image has a caption with its salient word and slot",
            "add caption/CapS.csv (Caption, Semantic, Position), or set update.confidence: equal",
        )
    specs = {"saliency": network_spec(m, "jsm", "jsm")}
    if config["ssm"]["enabled"]:
        specs["depth"] = network_spec(m, "jsm_depth", "jsm")
    if confidence == "tsm" and tau:
        specs["text"] = {
            "architecture": "jsm_text",
            "backbone": "none",
            "words": captions.words,
            "targets": captions.targets,
            "feature_channels": int(m["decoder_width"]),
            "embedding": config["text"]["embedding"],
            "input_size": size,
            "method": "jsm",
        }
    raw, wrapped = {}, {}
    for name, spec in specs.items():
        net = create_model(spec, m["pretrained"] if name != "text" else "imagenet")
        if channels_last and name != "text":
            net = net.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(
            [p for p in net.parameters() if p.requires_grad], float(t["lr"])
        )
        raw[name] = net
        wrapped[name] = trainer.setup(name, net, optimizer)
    optimizers = {name: pair[1] for name, pair in wrapped.items()}
    nets = {name: pair[0] for name, pair in wrapped.items()}
    kernel = gaussian_kernel().to(trainer.device)

    steps = steps_per_epoch * int(t["epochs"])
    batches = trainer.loader(RGBDDataset(train, size), int(t["batch_size"]), steps)

    def round_for(epoch: int) -> int:
        return epoch // tau if tau else 0

    validate = validate_saliency(trainer, raw["saliency"], val, size, channels_last)
    save_best = keep_best(folder, raw["saliency"], specs["saliency"])
    current = round_for(trainer.start_step // steps_per_epoch)
    if tau and current and not store.is_committed(current):  # killed between the last step
        finish_round(store, current, train, current * tau - 1)  # of an update epoch and its commit
    labels = load_round(store, current, train, size)
    for step, batch in zip(
        trainer.steps(steps, validate, "maxf", save_best), batches, strict=False
    ):
        epoch = step // steps_per_epoch
        if round_for(epoch) != current:
            current = round_for(epoch)
            labels = load_round(store, current, train, size)
        rows = batch["index"]
        images = batch["image"].to(trainer.device).float().div_(255.0)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        label = labels[rows].to(trainer.device)
        updating = tau and (epoch + 1) % tau == 0
        logged: dict[str, float] = {}
        if updating and not store.is_committed(current + 1):
            new, g = update_labels(nets, images, label, rows, captions, confidence, u["preset"])
            for row, one in zip(rows.tolist(), new, strict=True):
                store.write(current + 1, train[row].stem, one)
            logged["g"] = float(g.mean())  # the current label's weight in the update
        depth = batch["depth"].to(trainer.device).float()
        images, target, depth = augment(trainer, t, step, images, label.float() / 255.0, depth)
        losses: dict[str, torch.Tensor] = {}
        out = nets["saliency"](images)
        losses["saliency"] = 0.5 * (
            F.binary_cross_entropy_with_logits(_up(out.coarse, target), target)
            + F.binary_cross_entropy_with_logits(out.saliency.float(), target)
        )
        if "depth" in nets:
            masked_depth = ssm_target(out.coarse, depth, kernel, float(config["ssm"]["threshold"]))
            predicted = nets["depth"](images)
            losses["depth"] = 0.5 * (
                F.mse_loss(_up(predicted.coarse, masked_depth), masked_depth)
                + F.mse_loss(predicted.depth.float(), masked_depth)
            )
        if "text" in nets:
            has_text = captions.target[rows] >= 0
            if bool(has_text.any()):
                keep = rows[has_text]
                features = out.features.detach()[has_text.to(out.features.device)]
                probability = torch.sigmoid(out.saliency.detach().float())[
                    has_text.to(images.device)
                ]
                positive = nets["text"](
                    features, probability, captions.tokens[keep], captions.position[keep]
                ).words[:, 0]
                negative = nets["text"](
                    features, 1 - probability, captions.tokens[keep], captions.position[keep]
                ).words[:, 0]
                losses["text"] = 0.5 * (
                    F.cross_entropy(positive.float(), captions.target[keep].to(positive.device))
                    + F.cross_entropy(negative.float(), torch.zeros_like(keep).to(negative.device))
                )
        loss = sum(losses.values())
        if torch.isfinite(loss.detach()):
            trainer.backward(loss)
            for name, optimizer in optimizers.items():
                if t["clamp"]:
                    torch.nn.utils.clip_grad_value_(raw[name].parameters(), float(t["clamp"]))
                optimizer.step()
        for optimizer in optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        trainer.log(**losses, **logged)
        if updating and (step + 1) % steps_per_epoch == 0 and not store.is_committed(current + 1):
            quality = finish_round(store, current + 1, train, epoch)
            trainer.print(f"labels of round {current + 1}: {quality}")
    if trainer.is_writer:
        for name, net in raw.items():
            save_model(folder / f"{name}.safetensors", net, specs[name])
        save_model(folder / "final.safetensors", raw["saliency"], specs["saliency"])
    summary = {
        "epochs": int(t["epochs"]),
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "rounds": store.rounds(),
        "label_quality": {str(r): store.info(r).get("quality") for r in store.rounds()},
        "best": trainer.best,
    }
    write_json(folder / "summary.json", summary)
    return summary


def test_scores(config: dict[str, Any], run_dir: Path, initial: dict[str, Any]) -> dict[str, Any]:
    """The kept model on the test scenes (RGB only), beside the initial detector's maps."""
    from weaksal.classic.files import write_detector_maps

    samples = open_set(config["data"]["test"], "test")
    model, spec = load_model(kept_model(run_dir / "joint"))
    results = {"model": headline(evaluate_model(model, samples, int(spec["input_size"])))}
    if initial.get("chosen"):
        folder = run_dir / "test" / initial["chosen"]
        write_detector_maps(initial["chosen"], samples, folder, int(config["initial"]["workers"]))
        results["initial_detector"] = {
            "name": initial["chosen"],
            **saliency_scores(folder, samples),
        }
    return results


# -- the pipeline ----------------------------------------------------------------------
def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    train_samples = open_set(config["data"]["train"], "train")
    if config["data"]["train_limit"]:
        train_samples = train_samples[: int(config["data"]["train_limit"])]
    val = open_set(config["data"]["val"], "val")
    run_dir = start_pipeline(run_dir, config)
    store = LabelStore(run_dir / "labels")
    stages = [
        Stage("initial", lambda f: make_initial_labels(config, f, store, train_samples, val)),
        Stage("joint", lambda f: joint_training(config, f, resume, store, train_samples, val)),
    ]
    if config["data"]["test"]:
        stages.append(
            Stage("test", lambda f: test_scores(config, run_dir, stage_summary(run_dir, "initial")))
        )
    summaries = run_pipeline(run_dir, stages)
    shutil.copyfile(kept_model(run_dir / "joint"), run_dir / "final.safetensors")
    write_json(run_dir / "summary.json", summaries)
    return summaries
