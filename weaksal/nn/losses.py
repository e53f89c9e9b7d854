"""Losses the methods share."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def multilabel_loss(
    logits: torch.Tensor, targets: torch.Tensor, negative_weight: float = 1.0
) -> torch.Tensor:
    """Sigmoid cross-entropy over classes, summed per image, averaged over the batch.

    ``negative_weight`` < 1 down-weights the absent classes, as WSS's Caffe
    ``SigmoidMultiLabelLoss`` (negative_scale 0.02) does for its 200 classes.
    """
    positive = targets * F.logsigmoid(logits)
    negative = (1 - targets) * F.logsigmoid(-logits)
    return -(positive + negative_weight * negative).sum(dim=1).mean()


def bootstrapping_loss(
    logits: torch.Tensor, labels: torch.Tensor, delta: float = 0.95, hard: bool = True
) -> torch.Tensor:
    """Bootstrapped binary cross-entropy (Reed et al. 2015): MWS Eq. 11, WSS's L_B (Sec. 3.5).

    Target = ``delta * label + (1 - delta) * prediction``; the prediction is
    the thresholded map (hard, as WSS's ``SoftmaxWithHardBoostrapLoss``) or the
    probability itself (soft), never back-propagated through.
    """
    probability = torch.sigmoid(logits.detach())
    prediction = (probability > 0.5).to(logits.dtype) if hard else probability
    target = delta * labels + (1 - delta) * prediction
    return F.binary_cross_entropy_with_logits(logits, target)
