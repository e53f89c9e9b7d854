"""WSS (Wang et al., CVPR 2017): salient object detection from image-level tags only.

The pipeline, one cached stage each (``weaksal.engine.stages``)::

    stage1        image-level training of the FIN + GSP network on tags (Sec. 3.2-3.3)
    labels1       FIN maps -> iterative superpixel CRF -> binary pseudo-labels (Sec. 3.4, Alg. 1)
    round1        stage-2 FCN, from the stage-1 weights, on labels1 with bootstrapping L_B (Sec. 3.5)
    labels2       round-1 FCN maps (threshold 0.4) -> iterative CRF -> pseudo-labels
    round2        stage-2 FCN, again from the stage-1 weights, on labels2: the final model

Training never reads the masks of the training images; each labels stage
writes ``quality.json`` comparing its pseudo-labels with them, for reporting
only. Stage-1 validation uses the tags of the held-out split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from weaksal.data.augment import flip_generator, random_hflip
from weaksal.data.sources import split_samples
from weaksal.data.weak import TaggedImages, tag_classes, tagged_samples
from weaksal.engine.loop import engine_device, network_spec, prepare_images
from weaksal.engine.optim import build_optimizer, guarded_step, set_lr
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.stages import Stage, run_pipeline, start_pipeline
from weaksal.engine.trainer import Trainer
from weaksal.inference.runtimes import TorchRuntime
from weaksal.methods.evaluation import kept_model
from weaksal.methods.pseudo_labels import make_labels, require_refiners
from weaksal.methods.self_training import fit_round, held_out, ship_best_round
from weaksal.methods.wss.config import SECTIONS
from weaksal.models import create_model, load_model, save_model
from weaksal.models.wss import load_stage1
from weaksal.nn.losses import multilabel_loss
from weaksal.plumbing.atomic import write_json

FCN = "fcn.safetensors"  # a round's last weights (its best on val: best.safetensors)


# -- stage 1 ------------------------------------------------------------------
def _stage_config(config: dict[str, Any], section: str, stage: str) -> dict[str, Any]:
    """The run config with ``train`` set to one section (what the stage folder records)."""
    return {**config, "stage": stage, "train": config[section]}


def classifier_spec(config: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """Stage 1's network: FIN + GSP at stride 16 (the paper's; no decoder choice)."""
    m = config["model"]
    return network_spec(
        {**m, "decoder": "paper"},
        "wss_classifier",
        "wss",
        classes=classes,
        **{k: m[k] for k in ("pooling", "mu", "score_channels", "relu_cap")},
    )


def saliency_spec(config: dict[str, Any]) -> dict[str, Any]:
    """Stage 2's network: the paper's FIN-skip FCN or a multi-scale ``model.decoder``."""
    return network_spec(config["model"], "wss", "wss")


def train_stage1(config: dict[str, Any], folder: Path, resume: bool) -> dict[str, Any]:
    """Image-level training, Eq. 6: multi-label loss on the F-masked (Eq. 5), GSP-pooled
    (Eq. 3-4) scores + lambda * ||F||_1."""
    stage_config = _stage_config(config, "stage1", "stage1")
    t, data = stage_config["train"], config["data"]
    trainer = Trainer(stage_config, folder, resume)
    samples = tagged_samples(
        split_samples(data["train"], data["train_split"]), data["untagged"], "data.untagged"
    )
    classes = tag_classes(samples)
    spec = classifier_spec(config, classes)
    model = create_model(spec, config["model"]["pretrained"])
    channels_last = bool(config["engine"]["channels_last"])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    raw = model
    optimizer = build_optimizer(model, t)
    model, optimizer = trainer.setup("classifier", model, optimizer)
    size = int(config["model"]["input_size"])
    val_samples = (
        tagged_samples(
            split_samples(data["train"], data["val_split"]), data["untagged"], "data.untagged"
        )
        if data["val_split"]
        else []
    )
    val_set = TaggedImages(val_samples, classes, size) if val_samples else None

    def validate() -> dict[str, float]:  # tags of held-out images only: no masks
        raw.eval()
        losses, correct = [], 0
        with torch.no_grad():
            for start in range(0, len(val_set), 16):
                items = [val_set[i] for i in range(start, min(start + 16, len(val_set)))]
                images = prepare_images(
                    torch.stack([it["image"] for it in items]), trainer.device, False
                )
                tags = torch.stack([it["tags"] for it in items]).to(trainer.device)
                logits = raw(images).classes.float()
                losses.append(float(multilabel_loss(logits, tags)) * len(items))
                correct += int((tags.gather(1, logits.argmax(1, keepdim=True)) > 0).sum())
        raw.train()
        return {"loss": sum(losses) / len(val_set), "top1": correct / len(val_set)}

    last: dict[str, float] = {}

    def validate_and_keep() -> dict[str, float]:
        last.update(validate())
        return dict(last)

    steps = int(t["steps"])
    batches = trainer.loader(TaggedImages(samples, classes, size), int(t["batch_size"]), steps)
    for step, batch in zip(
        trainer.steps(steps, validate_and_keep if val_set else None), batches, strict=False
    ):
        lr = set_lr(optimizer, float(t["lr"]), step, steps, t["schedule"])
        images = prepare_images(batch["image"], trainer.device, channels_last)
        if t["flip"]:
            (images,) = random_hflip(
                [images],
                flip_generator(trainer.seed, step),
                trainer.fabric.global_rank,
                trainer.fabric.world_size,
            )
        out = model(images)
        classification = multilabel_loss(
            out.classes.float(),
            batch["tags"].to(trainer.device),
            float(t["negative_weight"]),
        )
        foreground = torch.sigmoid(out.coarse.float())  # F, the FIN's map
        sparsity = float(t["l1_weight"]) * foreground.sum(dim=(1, 2, 3)).mean()
        loss = classification + sparsity
        stepped = guarded_step(trainer, optimizer, raw.parameters(), loss, t["grad_clip"])
        trainer.log(
            loss=classification if stepped else 0.0,
            l1=sparsity if stepped else 0.0,
            lr=lr,
            skipped=0.0 if stepped else 1.0,
        )
    if trainer.is_writer:
        save_model(folder / "stage1.safetensors", raw, spec)
    summary: dict[str, Any] = {"classes": len(classes), "steps": steps}
    if last:  # the held-out images' tags at the last step (stage 1 keeps its last weights)
        summary["val"] = {"key": "top1", "value": last["top1"], "images": len(val_set)}
    return summary


# -- stage 2 ------------------------------------------------------------------
def train_stage2(
    config: dict[str, Any],
    folder: Path,
    stage1_file: Path,
    label_dir: Path,
    resume: bool,
    round_name: str,
) -> dict[str, Any]:
    """Self-training round: the FCN restarts from the stage-1 weights and fits the pseudo-labels.

    Label gate and validation: :func:`weaksal.methods.self_training.fit_round`.
    """
    stage_config = _stage_config(config, "stage2", round_name)
    t, data = stage_config["train"], config["data"]
    trainer = Trainer(stage_config, folder, resume)
    spec = saliency_spec(config)
    model = create_model(spec, "none")
    load_stage1(model, load_model(stage1_file)[0])
    channels_last = bool(config["engine"]["channels_last"])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    raw = model
    optimizer = build_optimizer(model, t)
    model, optimizer = trainer.setup("fcn", model, optimizer)
    return fit_round(
        trainer,
        raw,
        model,
        optimizer,
        spec,
        t,
        split_samples(data["train"], data["train_split"]),
        label_dir,
        config["labels"],
        held_out(
            {"dataset": data["train"], "split": data["val_split"]} if data["val_split"] else None
        ),
        channels_last,
        folder / FCN,
    )


# -- the pipeline -------------------------------------------------------------
def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    require_refiners(config["labels"], ("refine",))
    run_dir = start_pipeline(run_dir, config)
    data, labels = config["data"], config["labels"]
    size = int(config["model"]["input_size"])
    device = engine_device(config["engine"])
    train_samples = split_samples(data["train"], data["train_split"])

    def stage1_runtime():  # the FIN's map F, up-sampled: the stage-1 network's saliency output
        return TorchRuntime(
            load_model(run_dir / "stage1" / "stage1.safetensors", device)[0], device
        )

    def round_runtime(name: str):
        return TorchRuntime(load_model(kept_model(run_dir / name, FCN), device)[0], device)

    sizes = labels["sizes"] or [size]
    later_sizes = labels["later_sizes"] or [size]

    rounds = int(config["stage2"]["rounds"])
    stages = [
        Stage("stage1", lambda folder: train_stage1(config, folder, resume)),
        Stage(
            "labels1",
            lambda folder: make_labels(
                stage1_runtime(),
                sizes,
                train_samples,
                folder,
                labels["refine"],
                float(labels["threshold_round1"]),
                int(labels["workers"]),
                bool(labels["flip"]),
            ),
        ),
    ]
    for index in range(1, rounds + 1):
        stages.append(
            Stage(
                f"round{index}",
                lambda folder, i=index: train_stage2(
                    config,
                    folder,
                    run_dir / "stage1" / "stage1.safetensors",
                    run_dir / f"labels{i}" / "labels",
                    resume,
                    f"round{i}",
                ),
            )
        )
        if index < rounds:
            stages.append(
                Stage(
                    f"labels{index + 1}",
                    lambda folder, i=index: make_labels(
                        round_runtime(f"round{i}"),
                        later_sizes,
                        train_samples,
                        folder,
                        labels["refine"],
                        float(labels["threshold_later"]),
                        int(labels["workers"]),
                        bool(labels["later_flip"]),
                    ),
                )
            )
    summaries = run_pipeline(run_dir, stages)
    ship_best_round(run_dir, summaries, [f"round{i}" for i in range(1, rounds + 1)], FCN)
    write_json(run_dir / "summary.json", summaries)
    return summaries
