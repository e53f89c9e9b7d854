"""What the family files build from: the encoder of a spec, the chosen decoder, the composed network.

A network is ``encoder -> decoder -> head(s)``. ``decoder: paper`` is each
family's own layout, exactly as published (a dilated encoder at the paper's
stride and the paper's head); any name of ``weaksal.nn.decoders.DECODERS``
puts that multi-scale decoder on an undilated (stride 32) encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from weaksal.backbones import Encoder, create_backbone
from weaksal.models._outputs import Outputs
from weaksal.nn.decoders import DECODERS, Decoder, create_decoder

PAPER = "paper"
#: spec keys of the decoder choice, shared by every family
DECODER_DEFAULTS: dict[str, Any] = {"decoder": PAPER, "decoder_width": 64}


def build_encoder(spec: Mapping[str, Any], pretrained: str, paper_stride: int) -> Encoder:
    """The spec's backbone: dilated to ``paper_stride`` for the paper decoder, else stride 32."""
    return create_backbone(
        spec["backbone"],
        pretrained=pretrained,
        output_stride=paper_stride if is_paper(spec) else 32,
        freeze_bn=bool(spec.get("freeze_bn", False)),
    )


def is_paper(spec: Mapping[str, Any]) -> bool:
    name = spec.get("decoder") or PAPER
    if name != PAPER and name not in DECODERS:
        raise ValueError(
            f"unknown decoder {name!r}; choose {PAPER} or one of {', '.join(DECODERS)}"
        )
    return name == PAPER


def build_decoder(spec: Mapping[str, Any], encoder: Encoder) -> Decoder:
    """The spec's multi-scale decoder over ``encoder``, ``decoder_width`` wide."""
    width = int(spec.get("decoder_width") or 64)
    return create_decoder(spec["decoder"], encoder.out_channels, encoder.strides, width)


class LastStage(Decoder):
    """The papers' "decoder" of attention and classification networks: the deepest feature map."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.out_channels = encoder.out_channels[-1]
        self.stride = encoder.output_stride

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        return features[-1]


class EncoderDecoder(nn.Module):
    """``encoder -> decoder -> head``: a saliency network; ``forward(rgb)`` -> :class:`Outputs`.

    ``rgb`` is float RGB in [0, 1], ``(N, 3, H, W)``; ``Outputs.saliency`` the
    logits ``(N, 1, H, W)`` at the input size.
    """

    def __init__(self, encoder: Encoder, decoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.head = head

    def features(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder.forward_image(rgb))

    def forward(self, rgb: torch.Tensor) -> Outputs:
        return Outputs(saliency=self.head(self.features(rgb), tuple(rgb.shape[-2:])))
