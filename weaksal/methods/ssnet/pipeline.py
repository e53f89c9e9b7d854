"""SSNet (Zeng et al., ICCV 2019): weakly-supervised semantic segmentation and saliency, jointly.

The pipeline, one cached stage each (``weaksal.engine.stages``)::

    stage1   SSNet-1 (stride 16) on two disjoint sources, one batch of each per step:
             images with class labels only (L_c, Eq. 2) and images with saliency
             masks only (L_s1, Eq. 3, through the saliency aggregation module)
    labels   SSNet-1 on the classification images (256 x 256, as the code): softmax
             times the one-hot image labels (Sec. 3.4; ``labels.absent: code`` zeroes
             the logits instead, as the released code), dense CRF (preset ``ssnet``),
             argmax -> labels/<stem>.png, and labels/train_self.txt listing them (the
             list the released code lacks)
    stage2   SSNet-2 (stride 8) on those labels (L_s2, Eq. 4, + BCE of its class
             layer) and the saliency masks (L_s1)

The ablation of the paper's Tables 5 and 6 are settings of the same pipeline:
``stage1.tasks: classification`` (SSNet-S: L_c only), ``stage2.tasks:
segmentation`` (SSNet-?S: no saliency batch in stage 2), ``stage2.tasks:
saliency`` (SSNet-2S: saliency alone, no stage 1 and no labels). Segmentation
is validated by mIoU on the ``val`` list (the tree's labels, 255 ignored);
the classification images' label maps are read only to report the
pseudo-labels' quality. ``bench/ssnet_tables.py`` runs every row.

Deviations from the released code, for a CPU budget: the labels are made once
per image without augmentation (the code makes 10 augmented copies), and
stage 2 starts from the ImageNet backbone with its own lr schedule
(``stage2``), not from a hard-coded iteration of a longer run.
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

from weaksal.data.augment import flip_generator, random_affine
from weaksal.data.datasets import LabelMapDataset, SaliencyDataset, resize_square
from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_image
from weaksal.data.layouts import Sample
from weaksal.data.sources import dataset_path, local_or_data_path, split_samples
from weaksal.data.voc import read_label_map, voc_class_names, voc_colormap, with_image_labels
from weaksal.data.weak import TaggedImages
from weaksal.engine.loop import network_spec, prepare_images
from weaksal.engine.optim import build_optimizer, guarded_step, set_lr
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.stages import Stage, run_pipeline, start_pipeline
from weaksal.engine.trainer import Trainer
from weaksal.inference.runtimes import segment_images
from weaksal.methods.evaluation import keep_best, kept_model
from weaksal.methods.ssnet.config import SECTIONS
from weaksal.methods.ssnet.losses import class_loss, pseudo_label_loss, saliency_loss
from weaksal.metrics.segmentation import ConfusionMatrix
from weaksal.models import create_model, load_model, save_model
from weaksal.plumbing.atomic import write_json, write_palette_png, write_text
from weaksal.plumbing.errors import DataError, LayoutError


# -- data -----------------------------------------------------------------------
@dataclass(frozen=True)
class SSNetSources:
    root: Path
    names: list[str]  # label names, 0 = background
    classification: list[Sample]  # tags only are read for training
    val: list[Sample]
    saliency: list[Sample]

    @property
    def classes(self) -> list[str]:
        return self.names[1:]


def open_sources(data: dict[str, Any], need_saliency: bool = True) -> SSNetSources:
    """Every source of a run, checked before any training starts."""
    root = local_or_data_path(data["segmentation"])
    names = voc_class_names(root)
    tree = open_dataset(root, split=data["classification_split"])
    if tree.layout != "voc":
        raise LayoutError(
            root, "is not a VOC-layout tree", "run `weaksal data make-seg` or use VOC"
        )
    classification = with_image_labels(tree.samples, names)
    unlabelled = [s.stem for s in classification if not s.label("tags")]
    if unlabelled:
        raise DataError(
            f"{root}: {len(unlabelled)} images of {data['classification_split']} have no class"
            f" (first {unlabelled[0]}). Fix: give each a tag in tags.csv or a labelled pixel"
        )
    val = open_dataset(root, split=data["val_split"]).samples if data["val_split"] else []
    saliency: list[Sample] = []
    if need_saliency:
        saliency = split_samples(data["saliency"], data["saliency_split"])
        if data["saliency_list"]:
            listed = _list_stems(root, data["saliency_list"])
            saliency = [s for s in saliency if s.stem in listed]
        overlap = {s.stem for s in saliency} & {s.stem for s in classification}
        if overlap:
            raise DataError(
                f"{root}: {len(overlap)} images are both saliency and classification images"
                f" (first {sorted(overlap)[0]}). Fix: use disjoint sets (make-seg's halves)"
            )
        if not saliency:
            raise DataError(
                f"{dataset_path(data['saliency'])}: no saliency images left. Fix: check"
                " data.saliency, data.saliency_split and data.saliency_list"
            )
    return SSNetSources(root, names, classification, val, saliency)


def _list_stems(root: Path, name: str) -> set[str]:
    path = root / "ImageSets" / "Segmentation" / f"{name}.txt"
    if not path.is_file():
        raise LayoutError(path, "list not found", "set data.saliency_list to a list of that folder")
    return {line.split()[0] for line in path.read_text().splitlines() if line.strip()}


# -- evaluation -----------------------------------------------------------------
def segmentation_scores(
    model: torch.nn.Module, samples: list[Sample], labels: int, size: int, batch_size: int = 8
) -> dict[str, Any]:
    """mIoU (255 ignored), per-class IoU and pixel accuracy at each image's own size."""
    was_training = model.training
    model.eval()
    matrix = ConfusionMatrix(labels)
    device = next(model.parameters()).device
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        predictions = segment_images(model, [read_image(s.image) for s in chunk], size, device)
        for sample, prediction in zip(chunk, predictions, strict=True):
            matrix.step(prediction, read_label_map(sample.mask))
    model.train(was_training)
    results = matrix.results()
    return {
        "miou": results["miou"],
        "iou": [None if np.isnan(v) else float(v) for v in results["iou"]],
        "pixel_accuracy": results["pixel_accuracy"],
    }


# -- the training loop both stages share ---------------------------------------
def decayed_lr(settings: dict[str, Any], step: int) -> float:
    """The code's step decay: lr * factor ** (step // every)."""
    return float(settings["lr"]) * float(settings["lr_factor"]) ** (
        step // int(settings["lr_every"])
    )


def _augment(trainer, t: dict, step: int, stream: int, images, masks=(), labels=()):
    """The code's rotate / crop / flip, drawn from (seed, step) and a stream per batch source."""
    return random_affine(
        images,
        list(masks),
        list(labels),
        flip_generator(trainer.seed + stream, step),
        float(t["rotate"]),
        float(t["crop"]),
        bool(t["flip"]),
        trainer.fabric.global_rank,
        trainer.fabric.world_size,
    )


def _saliency_batch(trainer, batch, step: int, t: dict, channels_last: bool):
    images = prepare_images(batch["image"], trainer.device, channels_last)
    masks = batch["mask"].to(trainer.device).float().div_(255.0)
    images, (masks,), _ = _augment(trainer, t, step, 1, images, masks=[masks])
    return images, (masks > 0.5).float()


def _labelled_batch(trainer, batch, step: int, t: dict, channels_last: bool, augment: bool):
    images = prepare_images(batch["image"], trainer.device, channels_last)
    labels = batch["labels"].to(trainer.device).long() if "labels" in batch else None
    if augment:
        images, _, moved = _augment(
            trainer, t, step, 2, images, labels=[labels] if labels is not None else []
        )
        labels = moved[0] if moved else None
    return images, labels, batch["tags"].to(trainer.device)


def train_network(
    config: dict[str, Any],
    section: str,
    folder: Path,
    resume: bool,
    sources: SSNetSources,
    label_dir: Path | None = None,
) -> dict[str, Any]:
    """One stage: SSNet-1 (``section="stage1"``) or SSNet-2 (``"stage2"``)."""
    t, m = config[section], config["model"]
    stage_config = {**config, "stage": section, "train": t}
    trainer = Trainer(stage_config, folder, resume)
    spec = network_spec(
        m, "ssnet1" if section == "stage1" else "ssnet2", "ssnet", classes=sources.classes
    )
    raw = create_model(spec, m["pretrained"])
    channels_last = bool(config["engine"]["channels_last"])
    if channels_last:
        raw = raw.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(raw, t)
    plain_optimizer = optimizer
    model, optimizer = trainer.setup("ssnet", raw, optimizer)
    size, steps, tasks = int(m["input_size"]), int(t["steps"]), t["tasks"]
    with_saliency = tasks in ("multi", "saliency")
    with_labels = tasks != "saliency"
    batches: dict[str, Any] = {}
    if with_saliency:
        batches["saliency"] = trainer.loader(
            SaliencyDataset(sources.saliency, size), int(t["batch_size"]), steps, seed_offset=1
        )
    if with_labels:
        if section == "stage1":  # class labels only: the label maps are never read
            dataset = TaggedImages(sources.classification, sources.classes, size)
        else:
            dataset = LabelMapDataset(
                [
                    Sample(
                        s.stem,
                        s.image,
                        mask=label_dir / f"{s.stem}.png",
                        labels={"tags": s.label("tags")},
                    )
                    for s in sources.classification
                ],
                sources.classes,
                size,
            )
        batches["labelled"] = trainer.loader(dataset, int(t["batch_size"]), steps, seed_offset=2)
    labels = len(sources.names)

    def validate() -> dict[str, float]:
        return {"miou": segmentation_scores(raw, sources.val, labels, size)["miou"]}

    validating = with_labels and bool(sources.val)
    streams = zip(*batches.values(), strict=False)
    for step, group in zip(
        trainer.steps(
            steps, validate if validating else None, "miou", keep_best(folder, raw, spec)
        ),
        streams,
        strict=False,
    ):
        batch = dict(zip(batches, group, strict=True))
        if t["reset_optimizer"] and step and step % int(t["lr_every"]) == 0:
            plain_optimizer.state.clear()  # the code re-creates Adam at each decay
        lr = set_lr(optimizer, decayed_lr(t, step), step, steps, t["schedule"])
        losses: dict[str, torch.Tensor] = {}
        if "saliency" in batch:
            images, masks = _saliency_batch(trainer, batch["saliency"], step, t, channels_last)
            out = model(images)
            losses["saliency"] = saliency_loss(
                torch.sigmoid(out.saliency.float()), masks, t["saliency_form"]
            )
        if "labelled" in batch:
            augment = section == "stage1" or bool(t["augment_labels"])
            images, targets, tags = _labelled_batch(
                trainer, batch["labelled"], step, t, channels_last, augment
            )
            out = model(images)
            losses["classes"] = class_loss(out.classes, tags)
            if section == "stage1" and out.coarse_classes is not None:
                losses["coarse"] = class_loss(out.coarse_classes, tags)
            if section == "stage2":
                losses["segmentation"] = pseudo_label_loss(out.segmentation, targets)
        loss = sum(losses.values())
        stepped = guarded_step(trainer, optimizer, raw.parameters(), loss, t["grad_clip"])
        trainer.log(
            **{k: (v if stepped else 0.0) for k, v in losses.items()},
            lr=lr,
            skipped=0.0 if stepped else 1.0,
        )
    if trainer.is_writer:
        save_model(folder / "final.safetensors", raw, spec)
    summary: dict[str, Any] = {"steps": steps, "tasks": tasks}
    if validating:
        best = load_model(kept_model(folder))[0]
        summary["val"] = segmentation_scores(best, sources.val, labels, size)
        write_json(folder / "val.json", summary["val"])
    return summary


# -- stage-2 labels -------------------------------------------------------------
def crf_label(
    image_path: Path,
    present: list[int],
    logits: np.ndarray,
    labels: int,
    size: int,
    preset: str,
    absent: str,
    output: Path,
) -> None:
    """One pseudo-label: the segmentation restricted to the image's classes, dense CRF, argmax.

    ``logits`` holds the classes in ``present`` (background and the image's
    classes). ``absent="paper"`` (Sec. 3.4): the softmax is multiplied by the
    one-hot labels, so absent classes have probability 0; they are left out of
    the CRF, where their unary -log 0 could never win. ``absent="code"``: the
    released code multiplies the *logits*, so every absent class keeps logit 0
    and the softmax and CRF run over all C + 1 labels; wherever the present
    logits are all below 0 an absent class wins the pixel.
    """
    from weaksal.refine.dense_crf import refine_segmentation

    image = resize_square(read_image(image_path), size)
    if absent == "paper":
        scores, index = logits, np.asarray(present)
    else:
        scores = np.zeros((labels, *logits.shape[1:]), np.float32)
        scores[present] = logits
        index = np.arange(labels)
    scores = scores - scores.max(axis=0, keepdims=True)
    probabilities = np.exp(scores)
    probabilities /= probabilities.sum(axis=0, keepdims=True)
    result = index[refine_segmentation(image, probabilities, preset)].astype(np.uint8)
    write_palette_png(output, result, voc_colormap())


def make_stage2_labels(
    config: dict[str, Any], folder: Path, model_file: Path, sources: SSNetSources
) -> dict[str, Any]:
    """Pseudo-labels of every classification image, in parallel; finished ones are kept."""
    from weaksal.inference.runtimes import to_batch
    from weaksal.plumbing.batch import Job, run_job
    from weaksal.plumbing.parallel import worker_pool

    settings, size = config["labels"], int(config["model"]["input_size"])
    model = load_model(model_file)[0]
    out = folder / "labels"
    out.mkdir(parents=True, exist_ok=True)
    position = {name: i for i, name in enumerate(sources.names)}
    todo = [s for s in sources.classification if not (out / f"{s.stem}.png").exists()]
    failed: list[tuple[str, str]] = []
    with worker_pool(int(settings["workers"])) as pool:
        pending = []
        for start in range(0, len(todo), int(settings["batch_size"])):
            chunk = todo[start : start + int(settings["batch_size"])]
            with torch.inference_mode():
                x = torch.from_numpy(to_batch([read_image(s.image) for s in chunk], size))
                logits = model(x).segmentation.float()
            for sample, one in zip(chunk, logits, strict=True):
                present = [0, *sorted(position[t] for t in sample.label("tags"))]
                kept = F.interpolate(  # the code's 256 x 256, for the decoders' stride 4 too
                    one[present][None], size=(size, size), mode="bilinear", align_corners=False
                )[0].numpy()
                job = Job(
                    sample.stem,
                    out / f"{sample.stem}.png",
                    (
                        sample.image,
                        present,
                        kept,
                        len(sources.names),
                        size,
                        settings["preset"],
                        settings["absent"],
                    ),
                )
                pending.append(pool.submit(run_job, (crf_label, job)))
            while len(pending) > 4 * int(settings["workers"]) * int(settings["batch_size"]):
                failed += _finished(pending.pop(0))
        for future in pending:
            failed += _finished(future)
    if failed:
        name, message = failed[0]
        raise DataError(f"{len(failed)} pseudo-labels failed, first {name}: {message}")
    stems = [s.stem for s in sources.classification]
    write_text(out / "train_self.txt", "".join(f"{stem}\n" for stem in stems))
    quality = pseudo_label_quality(sources, out)
    write_json(folder / "quality.json", quality)
    return {"labels": len(stems), "made_now": len(todo), "quality": quality}


def _finished(future) -> list[tuple[str, str]]:
    name, error = future.result()
    return [] if error is None else [(name, error)]


def pseudo_label_quality(sources: SSNetSources, folder: Path) -> dict[str, Any]:
    """mIoU of the pseudo-labels against the classification images' label maps, at 256.

    Reporting only: these maps never reach training or any choice.
    """
    matrix = ConfusionMatrix(len(sources.names))
    for sample in sources.classification:
        made = read_label_map(folder / f"{sample.stem}.png")
        truth = read_label_map(sample.mask)
        truth = cv2.resize(truth, made.shape[::-1], interpolation=cv2.INTER_NEAREST)
        matrix.step(made, truth)
    results = matrix.results()
    return {"miou": results["miou"], "pixel_accuracy": results["pixel_accuracy"]}


# -- the pipeline ----------------------------------------------------------------
def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    saliency_only = config["stage2"]["tasks"] == "saliency"
    needs_saliency = saliency_only or "multi" in (
        config["stage1"]["tasks"],
        config["stage2"]["tasks"],
    )
    sources = open_sources(config["data"], needs_saliency)
    run_dir = start_pipeline(run_dir, config)
    stages = []
    if not saliency_only:
        stages += [
            Stage(
                "stage1", lambda folder: train_network(config, "stage1", folder, resume, sources)
            ),
            Stage(
                "labels",
                lambda folder: make_stage2_labels(
                    config, folder, kept_model(run_dir / "stage1"), sources
                ),
            ),
        ]
    stages.append(
        Stage(
            "stage2",
            lambda folder: train_network(
                config, "stage2", folder, resume, sources, run_dir / "labels" / "labels"
            ),
        )
    )
    summaries = run_pipeline(run_dir, stages)
    shutil.copyfile(kept_model(run_dir / "stage2"), run_dir / "final.safetensors")
    write_json(run_dir / "summary.json", summaries)
    return summaries
