"""Multi-scale decoders over a stride-32 encoder: every method's fast alternative to its paper head.

The papers' saliency networks (WSS, MWS's SNet, LPS) run the last backbone
stages dilated at stride 8 or 16 and recover resolution with one learned
deconvolution. On a CPU most of the training time goes into those stages at
4-16x the positions, and a x8 deconvolution from one channel draws blobs or a
checkerboard. A decoder here instead keeps the encoder at stride 32 and
merges stages 2-5 (strides 4-32) top-down, with bilinear up-sampling and skip
connections, into one feature map at stride 4; a light head (``nn.heads``)
turns it into saliency, segmentation or depth at the input size.

Every decoder takes the encoder's ``out_channels`` and ``strides`` (so it
never knows which backbone it sits on), consumes the encoder's list of
features, and exposes ``out_channels`` and ``stride`` of what it returns.
``DECODERS`` holds them by name (``model.decoder=fpn|unet`` in a config; the
paper decoders live with their network families in ``weaksal.models``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.plumbing.registry import Registry

DECODERS = Registry("decoder")


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def separable_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (MobileNet's cheap 3x3 conv)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def upsample_like(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of ``x`` to ``reference``'s spatial size (no learned up-sampling)."""
    if x.shape[-2:] == reference.shape[-2:]:
        return x
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=False)


def _levels(strides: Sequence[int], finest: int) -> list[int]:
    """Indices of the stages at stride >= ``finest`` (the decoder's inputs), shallowest first."""
    levels = [i for i, s in enumerate(strides) if s >= finest]
    if len(levels) < 2 or strides[levels[0]] != finest:
        raise ValueError(f"a decoder needs encoder stages at stride {finest} and deeper: {strides}")
    if max(strides) != 32:
        raise ValueError(
            f"the multi-scale decoders sit on an undilated encoder (stride 32), not {strides}"
        )
    return levels


class Decoder(nn.Module):
    """Encoder features (shallowest first) -> one map of ``out_channels`` at ``stride``."""

    out_channels: int
    stride: int


@DECODERS.register("fpn", reference="Lin et al., CVPR 2017; Kirillov et al., CVPR 2019")
class FPNDecoder(Decoder):
    """Feature pyramid network with Panoptic FPN's semantic merge, ``width`` channels throughout.

    Lateral 1x1 convolutions bring stages 2-5 to ``channels``; the top-down
    path adds each level to the bilinear up-sampled level above (FPN). Each
    pyramid level then gets a 3x3 conv-BN-ReLU, is up-sampled to stride 4 and
    the levels are summed (the semantic branch of Panoptic FPN, one conv per
    level instead of up to three), so coarse context and fine edges both reach
    the head.
    """

    def __init__(self, in_channels: Sequence[int], strides: Sequence[int], width: int = 64) -> None:
        super().__init__()
        channels = width
        self.levels = _levels(strides, 4)
        self.lateral = nn.ModuleList(nn.Conv2d(in_channels[i], channels, 1) for i in self.levels)
        self.smooth = nn.ModuleList(conv_bn_relu(channels, channels) for _ in self.levels)
        self.out_channels = channels
        self.stride = 4

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        inputs = [features[i] for i in self.levels]
        pyramid = [self.lateral[-1](inputs[-1])]
        for lateral, x in zip(self.lateral[-2::-1], inputs[-2::-1], strict=True):
            pyramid.insert(0, lateral(x) + upsample_like(pyramid[0], x))
        finest = pyramid[0]
        merged = self.smooth[0](finest)
        for smooth, level in zip(self.smooth[1:], pyramid[1:], strict=True):
            merged = merged + upsample_like(smooth(level), finest)
        return merged


@DECODERS.register("unet", reference="Ronneberger et al., MICCAI 2015 (lite)")
class UNetLiteDecoder(Decoder):
    """U-Net's expanding path, made light: concatenated skips, one separable block per level.

    From the deepest stage, each step up-samples x2 (bilinear), concatenates
    the encoder stage of that stride and applies one depthwise-separable
    conv block; it stops at stride 4. Widths narrow from 1.5 ``width`` (at
    stride 16) to ``width`` (8) and 0.75 ``width`` (4).
    """

    def __init__(self, in_channels: Sequence[int], strides: Sequence[int], width: int = 64) -> None:
        super().__init__()
        self.levels = _levels(strides, 4)
        channels = [width * 3 // 2, width, width * 3 // 4][: len(self.levels) - 1]
        blocks, below = [], in_channels[self.levels[-1]]
        for index, width in zip(self.levels[-2::-1], channels, strict=True):
            blocks.append(separable_block(below + in_channels[index], width))
            below = width
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = below
        self.stride = 4

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        x = features[self.levels[-1]]
        for block, index in zip(self.blocks, self.levels[-2::-1], strict=True):
            skip = features[index]
            x = block(torch.cat([upsample_like(x, skip), skip], dim=1))
        return x


def create_decoder(
    name: str, in_channels: Sequence[int], strides: Sequence[int], width: int = 64
) -> Decoder:
    """Decoder ``name``, about ``width`` channels wide, over an encoder with these stages."""
    return DECODERS.get(name).target(in_channels, strides, width)
