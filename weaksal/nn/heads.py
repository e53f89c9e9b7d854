"""Prediction heads: from a decoder's feature map to a task's output at the input size.

A head's ``forward(x, size)`` returns its output at ``size`` (the input's
height and width). :class:`DenseHead` serves every per-pixel task (saliency:
1 channel, segmentation: C+1 class logits, depth regression: 1 value) with
a 1x1 convolution and bilinear up-sampling; :class:`DeconvHead` is the papers'
learned up-sampling of an already one-channel map; :class:`ClassificationHead`
scores image-level classes. The blocks the papers' heads are made of
(dilated sums, learned and sub-pixel up-sampling) are here too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.nn.pooling import GlobalPool


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Weights that make a ``ConvTranspose2d`` an exact bilinear up-sampler (FCN's init).

    Shape ``(channels, channels, k, k)``: each channel is up-sampled on its own.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    grid = torch.arange(kernel_size, dtype=torch.float64)
    profile = 1 - (grid - center).abs() / factor
    kernel = (profile[:, None] * profile[None, :]).float()
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    for c in range(channels):
        weight[c, c] = kernel
    return weight


class LearnedUpsample(nn.ConvTranspose2d):
    """x``factor`` transposed convolution initialised bilinear, then learned (MWS SNet: k16 s8 p4)."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__(
            channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False
        )
        with torch.no_grad():
            self.weight.copy_(bilinear_kernel(channels, 2 * factor))


class DilatedSumHead(nn.Module):
    """Sum of parallel 3x3 convolutions at several dilations (DeepLab-v2 ASPP as in MWS's SNet)."""

    def __init__(self, in_channels: int, out_channels: int = 1, dilations=(6, 12, 18, 24)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 3, padding=d, dilation=d) for d in dilations
        )
        for branch in self.branches:
            nn.init.normal_(branch.weight, std=0.01)
            nn.init.zeros_(branch.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


class SubPixelUpsample(nn.Module):
    """Sub-pixel convolution (Shi et al., CVPR 2016): 1x1 conv to ``C * f^2`` -> BN -> PixelShuffle(f).

    Brings a feature map ``f`` times larger with ``out_channels`` channels
    (LPS's per-block upsampling). Initialised ICNR-style: the ``f^2`` sub-pixel
    filters of each output channel start equal, so the layer starts as a
    nearest-neighbour upsampler of a 1x1 projection (no checkerboard). LPS's
    code copied one filter to every channel, which also makes the ``C`` channels
    equal; we keep them distinct.
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int) -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        self.factor = factor
        self.conv = nn.Conv2d(in_channels, out_channels * factor * factor, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels * factor * factor)
        base = torch.empty(out_channels, in_channels, 1, 1)
        nn.init.xavier_normal_(base)
        with torch.no_grad():
            # PixelShuffle reads channel c * f^2 + k as sub-pixel k of output channel c
            self.conv.weight.copy_(base.repeat_interleave(factor * factor, dim=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return nn.functional.pixel_shuffle(x, self.factor) if self.factor > 1 else x


class DenseHead(nn.Module):
    """1x1 convolution to ``out_channels``, then bilinear up-sampling to the input size.

    Saliency (1 channel of logits), segmentation (C+1 class logits) and depth
    (1 regressed value) heads on the multi-scale decoders: the decoder already
    mixed context and detail, so one linear layer per pixel suffices.
    """

    def __init__(self, in_channels: int, out_channels: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        x = self.conv(x)
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class DeconvHead(nn.Module):
    """The papers' output layer: a learned x``factor`` up-sampling of ``channels`` maps.

    The output size is set by the factor (input size for inputs divisible by
    the network's stride), exactly as in the papers' networks.
    """

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.upsample = LearnedUpsample(channels, factor)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        return self.upsample(x)


class ClassificationHead(nn.Module):
    """Image-level class logits: global pooling (``gap``, ``gmp`` or ``gsp``) then a linear layer."""

    def __init__(self, in_channels: int, num_classes: int, pooling: str = "gap") -> None:
        super().__init__()
        self.pool = GlobalPool(pooling)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(x))
