"""SNet, MWS's saliency network (Zeng et al., CVPR 2019), also the fully-supervised reference.

``decoder: paper``: the backbone dilated to stride 8, a sum of four parallel
3x3 convolutions at dilations 6/12/18/24 to one channel (DeepLab-v2's ASPP as
the MWS code has it), and a learned x8 up-sampling (deconvolution k16 s8,
bilinear init). ``decoder: fpn | unet``: the backbone at stride 32, that
multi-scale decoder, and a 1x1 convolution up-sampled bilinearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from weaksal.models._parts import (
    DECODER_DEFAULTS,
    EncoderDecoder,
    build_decoder,
    build_encoder,
    is_paper,
)
from weaksal.models._registry import register_model
from weaksal.nn.heads import DeconvHead, DenseHead, DilatedSumHead


class DilatedSumDecoder(DilatedSumHead):
    """SNet's paper decoder: the dilated sum of the deepest (stride-8) features, one channel."""

    def __init__(self, in_channels: int, dilations=(6, 12, 18, 24)) -> None:
        super().__init__(in_channels, 1, dilations)
        self.out_channels, self.stride = 1, 8

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        return super().forward(features[-1])


@register_model(
    "snet",
    task="saliency",
    defaults=DECODER_DEFAULTS,
    legacy_keys={"head.branches.": "decoder.branches.", "upsample.": "head.upsample."},
    about="MWS's SNet; the fully-supervised reference",
)
def snet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    encoder = build_encoder(spec, pretrained, paper_stride=8)
    if is_paper(spec):
        return EncoderDecoder(
            encoder, DilatedSumDecoder(encoder.out_channels[-1]), DeconvHead(1, 8)
        )
    decoder = build_decoder(spec, encoder)
    return EncoderDecoder(encoder, decoder, DenseHead(decoder.out_channels, 1))
