"""MWS's map terms (Zeng et al., CVPR 2019, Sec. 3): the regulariser of Eq. 5-6, the binary targets of L_at (Eq. 7) and L_ac's target (Eq. 8-9).

Scales follow the authors' code: every map term is a cross-entropy averaged over
positions (see the pipeline's docstring for why the paper's sums fail).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from weaksal.refine.manifold_ranking import mr_refine


def map_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a map against a target, averaged over positions and images (as the code)."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def sparsity_loss(logits: torch.Tensor) -> torch.Tensor:
    """The regulariser of Eq. 5 and 6, ``-sum log(1 - s)``: cross-entropy with an all-zero map."""
    return map_bce(logits, torch.zeros_like(logits))


def binarise(probabilities: torch.Tensor, rule: str | float) -> torch.Tensor:
    """Per-image binary target: ``"2mean"`` (s >= 2x the map's mean, the code) or s >= a number."""
    if rule == "2mean":
        threshold = 2 * probabilities.flatten(1).mean(1).view(-1, *[1] * (probabilities.dim() - 1))
    else:
        threshold = float(rule)
    return (probabilities >= threshold).to(probabilities.dtype)


def coherence_targets(
    images: torch.Tensor,
    maps: Sequence[torch.Tensor],
    regions: torch.Tensor,
    seed_factor: float = 1.0,
) -> torch.Tensor:
    """L_ac's target (Eq. 9): the maps' seeds ranked by MR (Eq. 8), binary, pooled to the map grid.

    Shape ``(N, 1, h, w)``.

    ``images`` float (N, 3, S, S) in [0, 1]; ``maps`` probabilities (N, 1, h, w);
    ``regions`` (N, S, S) SLIC labels of the same (flipped) images.
    """
    rgb = (images.detach().float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu()
    masks = []
    for i in range(images.shape[0]):
        mask = mr_refine(
            rgb[i].numpy(),
            [m[i, 0].detach().float().cpu().numpy() for m in maps],
            labels=regions[i].cpu().numpy(),
            seed_factor=seed_factor,
        )
        masks.append(torch.from_numpy(mask.astype(np.float32) / 255.0))
    full = torch.stack(masks).unsqueeze(1).to(maps[0].device)
    return F.adaptive_avg_pool2d(full, maps[0].shape[-2:])
