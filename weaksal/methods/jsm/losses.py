"""JSM's training targets (Li, Ji et al., NeurIPS 2021): the saliency-masked depth of SSM (Eq. 1).

The loss terms themselves (BCE, MSE, the fill-in-the-blank cross-entropy) stay
visible in the joint loop of the pipeline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from weaksal.models.jsm import holistic_attention


def ssm_target(
    attention_logits: torch.Tensor, depth: torch.Tensor, kernel: torch.Tensor, threshold: float
) -> torch.Tensor:
    """SSM, Eq. 1 as the code has it: depth where ``max(minmax(gauss(att)), att) > threshold``.

    The released code binarises the smoothed map, so no gradient reaches the
    kernel there (its fourth optimiser, for that kernel, has nothing to do):
    the kernel is fixed here.
    """
    attention = torch.sigmoid(attention_logits.detach().float())
    attention = F.interpolate(
        attention, size=depth.shape[-2:], mode="bilinear", align_corners=False
    )
    return depth * (holistic_attention(attention, kernel) > threshold).float()
