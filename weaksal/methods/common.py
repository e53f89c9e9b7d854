"""Pieces every method's loop uses: batch preparation, learning rate, validation, shipping."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_image, read_mask
from weaksal.data.layouts import Sample
from weaksal.data.sources import dataset_path
from weaksal.inference import TorchRuntime, predict_images
from weaksal.metrics.evaluator import SaliencyEvaluator


def flip_generator(seed: int, step: int) -> torch.Generator:
    """Augmentation randomness drawn from (seed, step): identical after a resume."""
    return torch.Generator().manual_seed(seed * 7_919 + step + 1)


def prepare_images(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """``uint8`` batch -> float RGB in [0, 1] on ``device``."""
    x = images.to(device, non_blocking=True).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def random_hflip(
    tensors: Sequence[torch.Tensor], generator: torch.Generator, rank: int = 0, world_size: int = 1
) -> list[torch.Tensor]:
    """Flip the same samples of every tensor left-right, one coin per sample of the global batch.

    Under data parallelism this rank holds samples ``rank::world_size`` of the
    global batch; drawing the coins for the whole batch and taking this rank's
    share flips exactly the samples a single process would flip.
    """
    local = tensors[0].shape[0]
    coins = torch.rand(local * world_size, generator=generator) < 0.5
    flip = coins[rank::world_size]
    out = []
    for tensor in tensors:
        tensor = tensor.clone()
        mask = flip.to(tensor.device)
        tensor[mask] = tensor[mask].flip(-1)
        out.append(tensor)
    return out


def random_affine(
    images: torch.Tensor,
    masks: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    generator: torch.Generator,
    rotate: float,
    crop: float,
    flip: bool,
    rank: int = 0,
    world_size: int = 1,
    rotate_prob: float = 1.0,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """SSNet's augmentation on a whole batch: rotate by up to +-``rotate`` degrees, crop a
    ``crop`` x ``crop`` window at a random place, flip left-right, back at the batch's size.
    ``rotate_prob`` < 1 rotates only that share of the samples (JSM: 0.2).

    One affine sampling grid per sample: images and soft ``masks`` are
    sampled bilinearly, class-index ``labels`` by nearest neighbour with the
    pixels that fall outside the image set to 255 (ignored). The draws are
    made for the global batch and this rank takes its share, as
    :func:`random_hflip`.
    """
    import math

    local = images.shape[0]
    total = local * world_size
    angle = (torch.rand(total, generator=generator) * 2 - 1) * math.radians(rotate)
    shift = (torch.rand(total, 2, generator=generator) * 2 - 1) * (1 - crop)
    mirror = torch.where(
        torch.rand(total, generator=generator) < 0.5
        if flip
        else torch.zeros(total, dtype=torch.bool),
        -1.0,
        1.0,
    )
    if rotate_prob < 1.0:  # drawn last, so that rotate_prob 1 keeps the draws of before
        angle = torch.where(torch.rand(total, generator=generator) < rotate_prob, angle, 0.0)
    angle, shift, mirror = (
        angle[rank::world_size],
        shift[rank::world_size],
        mirror[rank::world_size],
    )
    cos, sin = torch.cos(angle) * crop, torch.sin(angle) * crop
    theta = torch.stack(
        [
            torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1),
            torch.stack([sin * mirror, cos, shift[:, 1]], dim=1),
        ],
        dim=1,
    ).to(images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)

    def sample(x: torch.Tensor, mode: str) -> torch.Tensor:
        return F.grid_sample(
            x.float(), grid.to(x.device), mode=mode, padding_mode="zeros", align_corners=False
        )

    out_images = sample(images, "bilinear").to(images.dtype)
    if images.is_contiguous(memory_format=torch.channels_last):
        out_images = out_images.contiguous(memory_format=torch.channels_last)
    out_masks = [sample(m, "bilinear").to(m.dtype) for m in masks]
    out_labels = []
    for label in labels:  # shift by one so that 0 marks "outside the image"
        moved = sample(label[:, None].float() + 1, "nearest")[:, 0].long() - 1
        out_labels.append(torch.where(moved < 0, 255, moved).to(label.dtype))
    return out_images, out_masks, out_labels


def network_spec(
    model: Mapping[str, Any], architecture: str, method: str, **family: Any
) -> dict[str, Any]:
    """The model-file spec of a network a method trains, from its resolved ``model`` section.

    Backbone, decoder and input size come from the section; ``family`` adds the
    architecture's own keys (classes, vocabulary, LPS's embedding...).
    """
    return {
        "architecture": architecture,
        "backbone": model["backbone"],
        "decoder": model["decoder"],
        "decoder_width": int(model["decoder_width"]),
        "input_size": int(model["input_size"]),
        "freeze_bn": bool(model["freeze_bn"]),
        **family,
        "method": method,
    }


def build_optimizer(model: torch.nn.Module, settings: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam (``betas`` from the settings when given); layers outside ``model.encoder`` (new,
    randomly initialised) learn ``head_lr_mult`` times faster."""
    backbone = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [
        p for n, p in model.named_parameters() if not n.startswith("encoder.") and p.requires_grad
    ]
    groups = [
        {"params": backbone, "lr_mult": 1.0},
        {"params": heads, "lr_mult": float(settings["head_lr_mult"])},
    ]
    betas = tuple(settings.get("betas") or (0.9, 0.999))
    return torch.optim.Adam(
        groups, lr=float(settings["lr"]), betas=betas, weight_decay=float(settings["weight_decay"])
    )


def setup_network(trainer, config: Mapping[str, Any], spec: dict[str, Any], name: str):
    """``(raw network, Fabric-wrapped network, optimizer, channels_last)`` for a supervised loop.

    The network of ``spec`` with the config's backbone weights, in channels_last
    memory format when the engine asks for it, Adam from the ``train`` section.
    """
    from weaksal.models import create_model

    channels_last = bool(config["engine"]["channels_last"])
    raw = create_model(spec, pretrained=config["model"]["pretrained"])
    if channels_last:
        raw = raw.to(memory_format=torch.channels_last)
    model, optimizer = trainer.setup(name, raw, build_optimizer(raw, config["train"]))
    return raw, model, optimizer, channels_last


def guarded_step(
    trainer, optimizer: torch.optim.Optimizer, parameters, loss: torch.Tensor, clip: float | None
) -> bool:
    """Backward, clip, step; skip the update when the loss or gradient is not finite.

    Low-precision training (bf16 autocast) can produce an occasional
    non-finite gradient; like a GradScaler, we drop that update instead of
    poisoning the weights, and count it in the log (``skipped``).
    """
    if not torch.isfinite(loss.detach()):
        optimizer.zero_grad(set_to_none=True)
        return False
    trainer.backward(loss)
    parameters = [p for p in parameters if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(parameters, clip if clip else float("inf"))
    if not torch.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return True


def image_mask_batch(
    trainer, batch: Mapping[str, torch.Tensor], step: int, flip: bool, channels_last: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float images and [0, 1] masks (ground truth or pseudo-labels) on the device, flipped by step."""
    images = prepare_images(batch["image"], trainer.device, channels_last)
    masks = batch["mask"].to(trainer.device).float().div_(255.0)
    if flip:
        images, masks = random_hflip(
            [images, masks],
            flip_generator(trainer.seed, step),
            trainer.fabric.global_rank,
            trainer.fabric.world_size,
        )
    return images, masks


def fit_pseudo_labels(
    trainer,
    model,
    raw,
    optimizer,
    dataset,
    settings: Mapping[str, Any],
    channels_last: bool,
    validate: Callable[[], dict[str, float]] | None = None,
    on_best: Callable[[int], None] | None = None,
) -> None:
    """Self-training loop: a saliency network fits (pseudo-)labels with the bootstrapping loss.

    ``settings``: a resolved :class:`~weaksal.engine.schema.BootstrapTrainSection`.
    ``validate`` (held-out images with masks, never the training ones) scores
    the network every ``engine.val_every`` steps; ``on_best`` keeps the best.
    """
    from weaksal.nn.losses import bootstrapping_loss

    steps = int(settings["steps"])
    batches = trainer.loader(dataset, int(settings["batch_size"]), steps)
    schedule = trainer.steps(steps, validate, "maxf" if validate else None, on_best)
    for step, batch in zip(schedule, batches, strict=False):
        lr = set_lr(optimizer, float(settings["lr"]), step, steps, settings["schedule"])
        images, labels = image_mask_batch(trainer, batch, step, settings["flip"], channels_last)
        logits = model(images).saliency.float()
        loss = bootstrapping_loss(logits, labels, float(settings["delta"]), bool(settings["hard"]))
        stepped = guarded_step(trainer, optimizer, raw.parameters(), loss, settings["grad_clip"])
        trainer.log(loss=loss if stepped else 0.0, lr=lr, skipped=0.0 if stepped else 1.0)


def poly_lr(base: float, step: int, total: int, power: float = 0.9) -> float:
    return base * (1.0 - step / total) ** power


def set_lr(
    optimizer: torch.optim.Optimizer, base: float, step: int, total: int, schedule: str
) -> float:
    """Set every group's lr (group ``lr_mult`` times the scheduled base); return the base lr."""
    lr = poly_lr(base, step, total) if schedule == "poly" else base
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
    return lr


def evaluate_model(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    size: int,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    channels_last: bool = False,
    maxf: str = "mean",
) -> dict[str, Any]:
    """Predict every sample at ``size`` and score against its mask at the original size."""
    was_training = model.training
    runtime = TorchRuntime(model, device, channels_last)
    evaluator = SaliencyEvaluator(maxf=maxf)
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        maps = predict_images(runtime, [read_image(s.image) for s in chunk], size)
        for sample, prediction in zip(chunk, maps, strict=True):
            evaluator.step(
                np.round(prediction * 255).astype(np.uint8), read_mask(sample.mask), sample.stem
            )
    model.train(was_training)
    return evaluator.results()


def headline(results: Mapping[str, Any]) -> dict[str, float]:
    """The numbers a log line or table shows."""
    return {
        "maxf": results["maxf"],
        "mae": results["mae"],
        "smeasure": results["smeasure"],
        "adpf": results["fmeasure"]["adaptive"],
        "maxe": results["emeasure"]["max"],
        "wfm": results["wfmeasure"],
    }


def colour_jitter(
    images: torch.Tensor, generator: torch.Generator, rank: int = 0, world_size: int = 1
) -> torch.Tensor:
    """JSM's colour enhancement on a batch in [0, 1], as PIL's ImageEnhance factors:
    brightness and contrast 0.5-1.5, colour 0-2, sharpness 0-3 (drawn for the global batch)."""
    total = images.shape[0] * world_size
    ranges = torch.tensor([[0.5, 1.5], [0.5, 1.5], [0.0, 2.0], [0.0, 3.0]])
    factors = ranges[:, 0] + torch.rand(total, 4, generator=generator) * (
        ranges[:, 1] - ranges[:, 0]
    )
    factors = factors[rank::world_size].to(images.device, images.dtype)
    b, c, s, h = (factors[:, i].view(-1, 1, 1, 1) for i in range(4))
    weights = torch.tensor([0.299, 0.587, 0.114], device=images.device, dtype=images.dtype)
    x = images * b
    grey = (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    x = grey.mean(dim=(2, 3), keepdim=True) + (x - grey.mean(dim=(2, 3), keepdim=True)) * c
    grey = (x * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    x = grey + (x - grey) * s
    smooth = torch.tensor([[1.0, 1, 1], [1, 5, 1], [1, 1, 1]], device=images.device) / 13
    blurred = F.conv2d(
        F.pad(x.float(), (1, 1, 1, 1), mode="replicate"), smooth.expand(3, 1, 3, 3), groups=3
    ).to(x.dtype)
    x = blurred + (x - blurred) * h
    x = x.clamp(0.0, 1.0)
    if images.is_contiguous(memory_format=torch.channels_last):
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def kept_model(folder: str | Path, last: str = "final.safetensors") -> Path:
    """The model a training folder keeps: ``best.safetensors`` when it validated, else
    its last weights (``last``)."""
    best = Path(folder) / "best.safetensors"
    return best if best.exists() else Path(folder) / last


def evaluate_run(
    run_dir: str | Path, benchmarks: Sequence[str], batch_size: int = 8
) -> dict[str, dict]:
    """Score a run's best model (final if it never validated) on benchmark sets; write eval.json.

    Reporting only: nothing here feeds back into training or model choice.
    Both max-F conventions are recorded.
    """
    from weaksal.data.atomic import write_json
    from weaksal.models import load_model

    run_dir = Path(run_dir)
    model_file = kept_model(run_dir)
    model, spec = load_model(model_file)
    table: dict[str, dict] = {}
    for name in benchmarks:
        samples = open_dataset(dataset_path(name)).samples
        results = evaluate_model(model, samples, int(spec["input_size"]), batch_size)
        row = headline(results)
        row["maxf_pooled"] = results["pooled"]["max"]
        table[name] = row
    write_json(run_dir / "eval.json", {"model": model_file.name, "benchmarks": table})
    return table
