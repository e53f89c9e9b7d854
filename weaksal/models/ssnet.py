"""SSNet (Zeng et al., ICCV 2019): one network for semantic segmentation and saliency.

A segmentation network (SN) scores C + 1 labels per pixel (index 0 is the
background, as in VOC and the released code; the paper lists it last). The
saliency aggregation module (SAM, Sec. 3.3) turns that into saliency: a
convolution whose kernel covers the whole deepest feature map, a spatial
mean and a sigmoid give each class a saliency score v_c, and

    S = sum_{c >= 1} v_c * H_c                                   (Eq. 1)

with H = softmax of the segmentation logits. The image-level class scores
that L_c (Eq. 2) compares with the labels are the spatial means of the
segmentation logits of classes 1..C (the code's form).

``ssnet1`` (SSNet-1, ``decoder: paper``): backbone dilated to stride 16;
1x1 convolutions on three levels (the deepest map and the last stride-16
map summed, learned x2 up-sampling, plus the stride-8 map, learned x8
up-sampling, the FCN-8s scheme of the code).

``ssnet2`` (SSNet-2, ``decoder: paper``): backbone dilated to stride 8, the
dilated 6/12/18/24 sum to C + 1 labels, learned x8 up-sampling; plus the
code's classification layer on the pooled deepest features.

Any multi-scale decoder (``fpn``, ``unet``) replaces both layouts: a stride-32
encoder, the decoder and a 1x1 head, plus (as the FCN-8s head sums its
levels) the deepest map's own 1x1 class scores, up-sampled and added: the
decoder's narrow features alone cannot carry 50 classes, and without the
deep scores one class learns "salient" for every image while the image's
class never wins a pixel. The deep scores also give the code's second L_c
term (``coarse_classes``). The segmentation stays at the decoder's
resolution (stride 4), Eq. 1 is computed there and only S is up-sampled to
the input (half the cost of a training step); SAM reads the deepest encoder
map.

The networks return :class:`Outputs` with ``segmentation`` (logits),
``saliency`` (logit of S, so that a sigmoid gives S back), ``classes`` (the
L_c scores; SSNet-2's classification layer) and ``coarse_classes`` (the same
on the deepest level, the code's second L_c term; SSNet-1's paper layout and
both stages on the multi-scale decoders).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.models._outputs import Outputs
from weaksal.models._parts import DECODER_DEFAULTS, build_decoder, build_encoder, is_paper
from weaksal.models._registry import register_model
from weaksal.nn.heads import DenseHead, DilatedSumHead, LearnedUpsample

SSNET_DEFAULTS = {**DECODER_DEFAULTS, "classes": []}
_EPS = 1e-6


class SaliencyAggregation(nn.Module):
    """SAM (Sec. 3.3): per-class saliency scores v from the deepest map, and S of Eq. 1.

    The convolution's kernel is the feature map's size (16 for SSNet-1 and 32
    for SSNet-2 at their strides and input sizes); on a larger input the
    kernel slides and its responses are averaged, as the code's spatial mean.
    """

    def __init__(self, in_channels: int, labels: int, map_size: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(in_channels, labels, map_size)
        nn.init.normal_(self.score.weight, std=0.02)
        nn.init.zeros_(self.score.bias)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """v: ``(N, C + 1)`` saliency scores in (0, 1); entry 0 (background) is unused."""
        return torch.sigmoid(self.score(features).mean(dim=(2, 3)))

    @staticmethod
    def aggregate(segmentation: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Eq. 1: S = sum over classes c >= 1 of v_c * softmax(segmentation)_c, ``(N, 1, H, W)``."""
        probabilities = segmentation.float().softmax(dim=1)[:, 1:]
        return (probabilities * scores.float()[:, 1:, None, None]).sum(dim=1, keepdim=True)


def saliency_logits(saliency: torch.Tensor) -> torch.Tensor:
    """logit(S): ``Outputs.saliency`` holds logits, and a sigmoid of them gives S back."""
    return torch.logit(saliency.clamp(_EPS, 1 - _EPS))


def class_scores(segmentation: torch.Tensor) -> torch.Tensor:
    """L_c's image-level scores: spatial mean of the segmentation logits of classes 1..C."""
    return segmentation[:, 1:].float().mean(dim=(2, 3))


class FCN8Head(nn.Module):
    """SSNet-1's segmentation head: three levels, learned x2 then x8 up-sampling (FCN-8s)."""

    def __init__(self, deepest: int, stride16: int, stride8: int, labels: int) -> None:
        super().__init__()
        self.score_deepest = nn.Conv2d(deepest, labels, 1)
        self.score16 = nn.Conv2d(stride16, labels, 1)
        self.score8 = nn.Conv2d(stride8, labels, 1)
        for conv in (self.score_deepest, self.score16, self.score8):
            nn.init.normal_(conv.weight, std=0.02)
            nn.init.zeros_(conv.bias)
        self.up2 = LearnedUpsample(labels, 2)
        self.up8 = LearnedUpsample(labels, 8)

    def forward(self, deepest, at16, at8) -> tuple[torch.Tensor, torch.Tensor]:
        """(segmentation logits at the input size, the deepest level's logits)."""
        coarse = self.score_deepest(deepest)
        x = self.up2(coarse + self.score16(at16))
        return self.up8(x + self.score8(at8)), coarse


class SSNet(nn.Module):
    """Encoder + segmentation head + SAM (+ the stage-2 classification layer)."""

    def __init__(self, spec: dict[str, Any], pretrained: str, stage: int) -> None:
        super().__init__()
        labels = len(spec["classes"]) + 1
        if labels < 2:
            raise ValueError("an SSNet spec needs its 'classes' (the image-level labels)")
        self.stage = stage
        self.paper = is_paper(spec)
        self.encoder = build_encoder(spec, pretrained, paper_stride=16 if stage == 1 else 8)
        channels, strides = self.encoder.out_channels, self.encoder.strides
        size = int(spec.get("input_size", 256))
        if self.paper and stage == 1:
            at16 = max(i for i, s in enumerate(strides[:-1]) if s == 16)
            at8 = max(i for i, s in enumerate(strides) if s == 8)
            self.levels = (at16, at8)
            self.head = FCN8Head(channels[-1], channels[at16], channels[at8], labels)
        elif self.paper:
            self.head = nn.Sequential(
                DilatedSumHead(channels[-1], labels), LearnedUpsample(labels, 8)
            )
        else:
            self.decoder = build_decoder(spec, self.encoder)
            self.head = DenseHead(self.decoder.out_channels, labels)
            self.score_deepest = nn.Conv2d(channels[-1], labels, 1)
            nn.init.normal_(self.score_deepest.weight, std=0.02)
            nn.init.zeros_(self.score_deepest.bias)
        self.sam = SaliencyAggregation(channels[-1], labels, max(1, size // strides[-1]))
        if stage == 2:
            self.classify = nn.Linear(channels[-1], labels)

    def forward(self, rgb: torch.Tensor) -> Outputs:
        features: Sequence[torch.Tensor] = self.encoder.forward_image(rgb)
        deepest = features[-1]
        coarse_classes = None
        if self.paper and self.stage == 1:
            segmentation, coarse = self.head(deepest, *(features[i] for i in self.levels))
            coarse_classes = class_scores(coarse)
        elif self.paper:
            segmentation = self.head(deepest)
        else:  # at the decoder's resolution: Eq. 1 there, then S alone is up-sampled
            decoded = self.decoder(features)
            coarse = self.score_deepest(deepest)
            segmentation = self.head(decoded, tuple(decoded.shape[-2:])) + F.interpolate(
                coarse, size=decoded.shape[-2:], mode="bilinear", align_corners=False
            )
            coarse_classes = class_scores(coarse)
        saliency = SaliencyAggregation.aggregate(segmentation, self.sam.scores(deepest))
        if tuple(saliency.shape[-2:]) != tuple(rgb.shape[-2:]):
            saliency = F.interpolate(
                saliency, size=rgb.shape[-2:], mode="bilinear", align_corners=False
            )
        if self.stage == 2:
            classes = self.classify(deepest.float().mean(dim=(2, 3)))[:, 1:]
        else:
            classes = class_scores(segmentation)
        return Outputs(
            saliency=saliency_logits(saliency),
            segmentation=segmentation,
            classes=classes,
            coarse_classes=coarse_classes,
        )


@register_model(
    "ssnet1",
    task="segmentation",
    outputs=("segmentation", "saliency", "classes"),
    defaults=SSNET_DEFAULTS,
    about="SSNet-1: segmentation + saliency aggregation, stage 1 (stride 16)",
)
def ssnet1(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return SSNet(spec, pretrained, stage=1)


@register_model(
    "ssnet2",
    task="segmentation",
    outputs=("segmentation", "saliency", "classes"),
    defaults=SSNET_DEFAULTS,
    about="SSNet-2: segmentation + saliency aggregation, stage 2 (stride 8)",
)
def ssnet2(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return SSNet(spec, pretrained, stage=2)
