"""LPS (Zeng et al., CVPR 2018): learning to promote any detector's saliency maps.

LPS is defined with pixel supervision: the anchor network trains on the
ground-truth masks of the training split (the prior that makes its anchors is
the mask with each pixel flipped with probability ``p``, Alg. 1), and at test
time promotes the maps of any detector, none of which it needs at training.

Pipeline stages (cached, resumable): ``val_priors`` writes the maps of a
classical detector (MR by default) for the held-out ``val`` split, and
``train`` fits the network, choosing the best checkpoint by promoting those
val priors, the network's real use, never a benchmark.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from weaksal.classic.files import write_detector_maps
from weaksal.data.augment import flip_generator
from weaksal.data.datasets import SaliencyDataset
from weaksal.data.imageio import read_image, read_mask, read_prediction
from weaksal.data.layouts import Sample
from weaksal.data.sources import split_samples
from weaksal.engine.loop import image_mask_batch, network_spec, setup_network
from weaksal.engine.optim import guarded_step, set_lr
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.stages import Stage, run_pipeline, start_pipeline
from weaksal.engine.trainer import Trainer
from weaksal.inference.promoter import Promoter
from weaksal.methods.evaluation import headline, keep_best, kept_model
from weaksal.methods.lps.config import SECTIONS
from weaksal.methods.lps.gate import calibrate
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.models import load_model, save_model
from weaksal.plumbing.atomic import write_json

# detector's errors (``detector_like_prior``) before the flips; 0 = the paper's prior


def model_spec(config: dict[str, Any]) -> dict[str, Any]:
    m = config["model"]
    family = ("output_stride", "channels", "embed_dim", "region", "embed_stride")
    return network_spec(m, "lps", "lps", **{key: m[key] for key in family})


def flipped_prior(
    masks: torch.Tensor, p: float, generator: torch.Generator, rank: int = 0, world_size: int = 1
) -> torch.Tensor:
    """Alg. 1, line 3: the binary mask with each pixel flipped with probability ``p``.

    The noise is drawn for the whole global batch and this rank takes its
    share, so data-parallel training flips exactly the pixels one process would.
    """
    local = masks.shape[0]
    noise = torch.rand((local * world_size, *masks.shape[1:]), generator=generator) < p
    flips = noise[rank::world_size].to(masks.device)
    return ((masks > 0.5) ^ flips).float()


def _gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """``(1, 1, H, W)`` blurred by a separable Gaussian (edges replicated)."""
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(image)
    padded = F.pad(image, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1))
    return F.conv2d(rows, kernel.view(1, 1, -1, 1))


def _detector_errors(mask: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """One ``(1, 1, H, W)`` binary mask given the errors real detectors make (``draws``: 16 U(0,1)).

    Each with its own chance: a boundary grown or shrunk by up to 6% of the
    side; a missing part (a disc of the object removed); an extra blob on
    the background; blurred edges; a compressed range (background not 0,
    object not 1), as in a classical detector's low-contrast map.
    """
    h, w = mask.shape[-2:]
    side = min(h, w)
    out = mask.clone()
    if draws[0] < 0.5:  # boundary off by a few pixels
        k = 1 + 2 * int(draws[1] * 0.06 * side)
        if k > 1:
            pool = partial(F.max_pool2d, kernel_size=k, stride=1, padding=k // 2)
            out = pool(out) if draws[2] < 0.5 else 1.0 - pool(1.0 - out)
    foreground = out[0, 0] > 0.5
    count = int(foreground.sum())
    if draws[3] < 0.3 and count:  # a part of the object missed
        ys, xs = torch.nonzero(foreground, as_tuple=True)
        pick = min(int(draws[4] * count), count - 1)
        radius = (count / math.pi) ** 0.5 * (0.3 + 0.5 * float(draws[5]))
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        disc = (yy - ys[pick]) ** 2 + (xx - xs[pick]) ** 2 <= radius**2
        out[0, 0][disc] = 0.0
    if draws[6] < 0.3:  # a distractor lit up
        yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
        sigma = 0.05 + 0.15 * float(draws[9])
        blob = torch.exp(-((yy - draws[7]) ** 2 + (xx - draws[8]) ** 2) / (2 * sigma**2))
        out = torch.maximum(out, (0.4 + 0.6 * float(draws[10])) * blob.view(1, 1, h, w))
    if draws[11] < 0.5:  # soft edges
        out = _gaussian_blur(out, 1.0 + 0.03 * side * float(draws[12]))
    if draws[13] < 0.5:  # low contrast
        low, high = 0.3 * float(draws[14]), 1.0 - 0.4 * float(draws[15])
        out = low + (high - low) * out
    return out.clamp(0.0, 1.0)


def detector_like_prior(
    masks: torch.Tensor,
    share: float,
    p: float,
    generator: torch.Generator,
    rank: int = 0,
    world_size: int = 1,
) -> torch.Tensor:
    """Training priors: for a ``share`` of the images the mask given a detector's errors.

    The paper's prior (Alg. 1: the mask with 5% of pixels flipped) is far
    from what a real detector gives: a model trained on it promotes weak
    classical maps well but has never seen a nearly right map with soft
    edges or a missing part, and makes strong detectors' maps worse. Here
    ``share`` of the images first get :func:`_detector_errors`; then every
    pixel flips with probability ``p`` (a flip of a soft value ``v`` is
    ``1 - v``). Drawn for the global batch, this rank taking its share.
    """
    local = masks.shape[0]
    total = local * world_size
    chosen = (torch.rand(total, generator=generator) < share)[rank::world_size]
    draws = torch.rand((total, 16), generator=generator)[rank::world_size]
    flips = (torch.rand((total, *masks.shape[1:]), generator=generator) < p)[rank::world_size]
    binary = (masks > 0.5).float().cpu()
    priors = [
        _detector_errors(binary[i : i + 1], draws[i]) if chosen[i] else binary[i : i + 1]
        for i in range(local)
    ]
    prior = torch.cat(priors)
    return torch.where(flips, 1.0 - prior, prior).to(masks.device)


def score_promotion(
    promoter: Promoter, samples: Sequence[Sample], priors: Path, batch_size: int = 8
) -> dict[str, Any]:
    """Promote ``priors/<stem>.png`` of every sample and score against its mask."""
    evaluator = SaliencyEvaluator()
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        maps = promoter.maps(
            [read_image(s.image) for s in chunk],
            [read_prediction(priors / f"{s.stem}.png") for s in chunk],
        )
        for sample, saliency in zip(chunk, maps, strict=True):
            evaluator.step(
                np.round(saliency * 255).astype(np.uint8), read_mask(sample.mask), sample.stem
            )
    return evaluator.results()


def val_subset(config: dict[str, Any]) -> list[Sample]:
    """The held-out images whose promoted priors choose the checkpoint (none without a split)."""
    data, limit = config["data"], int(config["validation"]["limit"])
    if not data["val_split"]:
        return []
    samples = split_samples(data["train"], data["val_split"])
    return samples[:limit] if limit else samples


def train_network(
    config: dict[str, Any], folder: Path, val_priors: Path | None, resume: bool
) -> dict[str, Any]:
    """Alg. 1: anchors from the flipped mask, log-likelihood of the mask (Eq. 4)."""
    t, data, v = config["train"], config["data"], config["validation"]
    spec = model_spec(config)
    trainer = Trainer(config, folder, resume)
    raw, model, optimizer, channels_last = setup_network(trainer, config, spec, "lps")
    train_set = SaliencyDataset(
        split_samples(data["train"], data["train_split"]),
        spec["input_size"],
        on_mismatch=data["on_mismatch"],
    )
    val_samples = val_subset(config) if val_priors else []
    bf16 = "bf16" in config["engine"]["precision"]

    def validate() -> dict[str, float]:
        promoter = Promoter(
            raw, spec["input_size"], int(v["iterations"]), device=trainer.device, bf16=bf16
        )
        results = headline(score_promotion(promoter, val_samples, val_priors))
        raw.train()
        return results

    steps, flip_p = int(t["steps"]), float(t["flip_probability"])
    share = float(t["detector_share"])
    batches = trainer.loader(train_set, int(t["batch_size"]), steps)
    rank, world = trainer.fabric.global_rank, trainer.fabric.world_size
    for step, batch in zip(
        trainer.steps(
            steps, validate if val_samples else None, "maxf", keep_best(folder, raw, spec)
        ),
        batches,
        strict=False,
    ):
        lr = set_lr(optimizer, float(t["lr"]), step, steps, t["schedule"])
        images, masks = image_mask_batch(trainer, batch, step, t["flip"], channels_last)
        noise = flip_generator(trainer.seed + 1, step)  # another stream than the image flips
        if share:
            prior = detector_like_prior(masks, share, flip_p, noise, rank, world)
        else:  # the paper's prior, exactly as before
            prior = flipped_prior(masks, flip_p, noise, rank, world)
        logits = model(images, prior).saliency.float()
        loss = F.binary_cross_entropy_with_logits(logits, masks)
        stepped = guarded_step(trainer, optimizer, raw.parameters(), loss, t["grad_clip"])
        trainer.log(loss=loss if stepped else 0.0, lr=lr, skipped=0.0 if stepped else 1.0)
    if trainer.is_writer:
        save_model(folder / "final.safetensors", raw, spec)
    return {"steps": steps, "best": trainer.best}


def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    run_dir = start_pipeline(run_dir, config)
    v = config["validation"]
    stages = []
    val_priors = None
    samples = val_subset(config)
    if samples:
        val_priors = run_dir / "val_priors" / "maps"
        stages.append(
            Stage(
                "val_priors",
                lambda folder: write_detector_maps(
                    v["prior"], samples, folder / "maps", int(v["workers"])
                ),
            )
        )
    stages.append(Stage("train", lambda folder: train_network(config, folder, val_priors, resume)))
    g = config["gate"]
    if g["priors"]:
        stages.append(Stage("gate", lambda folder: calibrate_gate(config, folder, run_dir)))
    summaries = run_pipeline(run_dir, stages)
    if g["priors"]:  # the final model carries its gate: `weaksal promote` applies it by default
        network, spec = load_model(kept_model(run_dir / "train"))
        gate = summaries["gate"]  # (a gate calibrated before floors existed has none: 0)
        chosen = {"gate": gate["gate"], "gate_floor": gate.get("gate_floor", 0.0)}
        save_model(run_dir / "final.safetensors", network, {**spec, **chosen})
    else:
        shutil.copyfile(kept_model(run_dir / "train"), run_dir / "final.safetensors")
    write_json(run_dir / "summary.json", summaries)
    return summaries


def calibrate_gate(config: dict[str, Any], folder: Path, run_dir: Path) -> dict[str, Any]:
    """The ``gate`` stage: every val image with a mask, the trained model, no gate yet."""
    g, data = config["gate"], config["data"]
    samples = [s for s in split_samples(data["train"], data["val_split"]) if s.mask is not None]
    network, spec = load_model(kept_model(run_dir / "train"))
    promoter = Promoter(network, int(spec["input_size"]), int(g["iterations"]))
    return calibrate(
        promoter,
        samples,
        g["priors"],
        g["candidates"],
        folder,
        workers=int(g["workers"]),
        tolerance=float(g["tolerance"]),
        floors=g["floors"],
    )
