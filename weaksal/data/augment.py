"""Batch augmentation drawn from (seed, step), so a resumed or data-parallel run draws the same.

Every draw is made for the global batch and each rank takes its share
(samples ``rank::world_size``), so the union over ranks is exactly what a
single process would have drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def flip_generator(seed: int, step: int) -> torch.Generator:
    """Augmentation randomness drawn from (seed, step): identical after a resume."""
    return torch.Generator().manual_seed(seed * 7_919 + step + 1)


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
