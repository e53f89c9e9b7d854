"""A network and its batches on the trainer's device: what every supervised loop starts with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from weaksal.data.augment import flip_generator, random_hflip
from weaksal.engine.optim import build_optimizer


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


def prepare_images(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """``uint8`` batch -> float RGB in [0, 1] on ``device``."""
    x = images.to(device, non_blocking=True).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


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


def engine_device(engine: Mapping[str, Any]) -> torch.device:
    """The device a config's ``engine.accelerator`` names, for the stages that run outside a
    :class:`~weaksal.engine.trainer.Trainer` (pseudo-labels from a trained network), so a run
    asked to stay on the CPU never labels on a GPU (``auto``: the fastest device here)."""
    from weaksal.plumbing.devices import resolve_device

    accelerator = engine["accelerator"]
    return resolve_device({"gpu": "cuda"}.get(accelerator, accelerator))
