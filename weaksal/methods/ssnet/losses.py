"""SSNet's losses (Zeng et al., ICCV 2019), numbered as in the paper: L_c (Eq. 2), L_s1 (Eq. 3),
L_s2 (Eq. 4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def class_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_c (SSNet Eq. 2): binary cross-entropy of the image-level class scores (logits).

    The scores are the spatial means of the segmentation logits of classes
    1..C (or SSNet-2's classification layer); averaged over classes and
    images, as the code's ``binary_cross_entropy_with_logits``.
    """
    return F.binary_cross_entropy_with_logits(scores.float(), labels.float())


def saliency_loss(saliency: torch.Tensor, mask: torch.Tensor, form: str = "paper") -> torch.Tensor:
    """L_s1 (SSNet Eq. 3) between the aggregated saliency S in [0, 1] and the binary mask.

    ``form="paper"``: the binary cross-entropy of Eq. 3. ``form="code"``: what
    the released code computes, ``nll_loss`` applied to the probabilities
    (not their logarithms), i.e. minus the mean probability of the true label,
    ``-mean(y * S + (1 - y) * (1 - S))``; its gradient does not grow as S
    nears the wrong label.
    """
    s = saliency.float().clamp(1e-6, 1 - 1e-6)
    y = mask.float()
    if form == "paper":
        return F.binary_cross_entropy(s, y)
    if form == "code":
        return -(y * s + (1 - y) * (1 - s)).mean()
    raise ValueError(f"form must be 'paper' or 'code', not {form!r}")


def pseudo_label_loss(
    segmentation: torch.Tensor, labels: torch.Tensor, ignore_index: int = 255
) -> torch.Tensor:
    """L_s2 (SSNet Eq. 4): per-pixel cross-entropy against the stage-1 pseudo-labels (CRF-refined).

    Logits coarser than the labels (the multi-scale decoders' stride 4) are
    compared with the labels sampled at their pixels (nearest neighbour), as
    DeepLab trains; labels are never blended.
    """
    labels = labels.long()
    if tuple(labels.shape[-2:]) != tuple(segmentation.shape[-2:]):
        labels = F.interpolate(
            labels[:, None].float(), size=segmentation.shape[-2:], mode="nearest"
        )[:, 0].long()
    return F.cross_entropy(segmentation.float(), labels, ignore_index=ignore_index)
