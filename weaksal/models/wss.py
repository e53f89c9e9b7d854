"""WSS's networks (Wang et al., CVPR 2017): the stage-1 image-level network and the stage-2 FCN.

Stage 1 (Sec. 3.2-3.3, Fig. 2): a shared backbone at stride 16 feeds two
sibling branches. The FCN branch gives mid-level score maps ``S`` (3x3 conv ->
BN -> ReLU, clipped at 7 as in the authors' Caffe model); the Foreground
Inference Net (FIN) gives the foreground map ``F`` (3x3 conv to one channel ->
BN -> sigmoid). Every channel of ``S`` is masked by ``F`` (Eq. 5) and pooled
by Global Smooth Pooling (Eq. 3-4), then a linear layer scores the
image-level classes.

Stage 2 (Sec. 3.5), ``decoder: paper``: the FIN extended to full resolution:
the FIN's logits are up-sampled x2, x2, x4 by transposed convolutions
(bilinear init), adding a 3x3-conv score of the backbone's stride-8 and
stride-4 features after the first two (the conv4 and conv3 skips of the VGG
original). The skip convolutions start at zero, so before fine-tuning the
network reproduces the stage-1 map. ``decoder: fpn | unet``: a multi-scale
decoder on the stride-32 backbone; it starts from the stage-1 backbone only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones import Encoder
from weaksal.models._outputs import Outputs
from weaksal.models._parts import (
    DECODER_DEFAULTS,
    EncoderDecoder,
    build_decoder,
    build_encoder,
    is_paper,
)
from weaksal.models._registry import register_model
from weaksal.nn.decoders import Decoder
from weaksal.nn.heads import DeconvHead, DenseHead, LearnedUpsample
from weaksal.nn.pooling import GlobalPool


def foreground_branch(in_channels: int) -> nn.Sequential:
    """FIN: 3x3 conv to one channel (no bias, BN follows) -> BN; sigmoid applied by the caller."""
    return nn.Sequential(nn.Conv2d(in_channels, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1))


class WSSClassifier(nn.Module):
    """Stage 1: image-level tags -> ``Outputs(classes, coarse = FIN logits, saliency)``.

    ``saliency`` is the FIN map's logits up-sampled bilinearly to the input
    size, so a stage-1 file is a saliency model too (WSS's labels come from it).
    """

    def __init__(
        self,
        encoder: Encoder,
        num_classes: int,
        pooling: str = "gsp",
        mu: float = 10.0,
        score_channels: int = 512,
        relu_cap: float | None = 7.0,
    ) -> None:
        super().__init__()
        if encoder.output_stride != 16:
            raise ValueError("WSS's stage-1 network needs an encoder at output stride 16")
        top = encoder.out_channels[-1]
        self.encoder = encoder
        self.scores = nn.Sequential(
            nn.Conv2d(top, score_channels, 3, padding=1), nn.BatchNorm2d(score_channels)
        )
        self.fin = foreground_branch(top)
        self.pool = GlobalPool(pooling, mu)
        self.classifier = nn.Linear(score_channels, num_classes)
        self.relu_cap = relu_cap

    def forward(self, rgb: torch.Tensor) -> Outputs:
        top = self.encoder.forward_image(rgb)[-1]
        scores = F.relu(self.scores(top))
        if self.relu_cap is not None:
            scores = scores.clamp_max(self.relu_cap)
        logits = self.fin(top)
        pooled = self.pool(scores * torch.sigmoid(logits))  # Eq. 5 masking, then GSP (Eq. 3-4)
        saliency = F.interpolate(logits, size=rgb.shape[-2:], mode="bilinear", align_corners=False)
        return Outputs(classes=self.classifier(pooled), coarse=logits, saliency=saliency)


class FINSkipDecoder(Decoder):
    """Stage 2's paper decoder: FIN logits at stride 16, x2 + stride-8 skip, x2 + stride-4 skip."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        if encoder.output_stride != 16:
            raise ValueError("WSS's saliency network needs an encoder at output stride 16")
        self.fin = foreground_branch(encoder.out_channels[-1])
        stride8, stride4 = encoder.strides.index(8), encoder.strides.index(4)
        self.skip_levels = (stride8, stride4)
        self.skip8 = nn.Conv2d(encoder.out_channels[stride8], 1, 3, padding=1)
        self.skip4 = nn.Conv2d(encoder.out_channels[stride4], 1, 3, padding=1)
        for conv in (self.skip8, self.skip4):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.up2a = LearnedUpsample(1, 2)
        self.up2b = LearnedUpsample(1, 2)
        self.out_channels, self.stride = 1, 4

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self.up2a(self.fin(features[-1])) + self.skip8(features[self.skip_levels[0]])
        return self.up2b(x) + self.skip4(features[self.skip_levels[1]])


def load_stage1(network: EncoderDecoder, classifier: WSSClassifier) -> None:
    """Start stage 2 from stage 1: the backbone, and the FIN too on the paper decoder.

    Every self-training round restarts here.
    """
    network.encoder.load_state_dict(classifier.encoder.state_dict())
    if isinstance(network.decoder, FINSkipDecoder):
        network.decoder.fin.load_state_dict(classifier.fin.state_dict())


@register_model(
    "wss",
    task="saliency",
    defaults=DECODER_DEFAULTS,
    legacy_keys={
        **{f"{name}.": f"decoder.{name}." for name in ("fin", "skip8", "skip4", "up2a", "up2b")},
        "up4.": "head.upsample.",
    },
    about="WSS's stage-2 saliency FCN",
)
def wss(spec: dict[str, Any], pretrained: str) -> nn.Module:
    encoder = build_encoder(spec, pretrained, paper_stride=16)
    if is_paper(spec):
        return EncoderDecoder(encoder, FINSkipDecoder(encoder), DeconvHead(1, 4))
    decoder = build_decoder(spec, encoder)
    return EncoderDecoder(encoder, decoder, DenseHead(decoder.out_channels, 1))


@register_model(
    "wss_classifier",
    task="classification",
    outputs=("classes", "coarse", "saliency"),
    defaults={"pooling": "gsp", "mu": 10.0, "score_channels": 512, "relu_cap": 7.0},
    about="WSS's stage-1 image-level network (FIN + GSP)",
)
def wss_classifier(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return WSSClassifier(
        build_encoder({**spec, "decoder": "paper"}, pretrained, paper_stride=16),
        len(spec["classes"]),
        spec["pooling"] or "gsp",  # files of the first runs wrote null for a default
        float(spec["mu"] or 10.0),
        int(spec["score_channels"] or 512),
        spec["relu_cap"],
    )
