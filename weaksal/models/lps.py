"""LPS's network (Zeng et al., CVPR 2018): pixel and region embeddings and the nearest-anchor classifier.

Pixel embedding (Sec. 3.3): the backbone with its last two blocks dilated
(output stride 8); after each of its five blocks a sub-pixel convolution
brings the block's features to the embedding resolution with ``C = 64``
channels; the ``5C`` map goes through two convolutions to a ``D = 512``
vector per pixel (Eq. 1).

Region embedding (Sec. 3.4, Fig. 4), the anchors of Eq. 2: the prior map
weights the salient region, one minus it the background. Conv-based: two
convolutions on the ``5C`` map, then the region-weighted average; FC-based:
the region-weighted average of the ``5C`` map, then two fully connected layers.

Classifier (Eq. 3): p(salient | pixel) is the softmax over minus the Euclidean
distances to the two anchors, i.e. ``sigmoid(d_bg - d_fg)``; the network's
logit is ``d_bg - d_fg``. Anchors are computed per image (the released code
normalised by sums over the whole batch, which mixes images when batch > 1).

``decoder: paper`` is the per-block sub-pixel layout above. ``embed_stride``
sets its embedding resolution: 1 is the paper's (every input pixel); larger
values embed every ``embed_stride``-th pixel (stages finer than that are
average-pooled) and the probability map is up-sampled. The CPU config uses 4
with a stride-16 backbone: five times faster to train than the paper's layout
on this hardware (see the config). ``decoder: fpn | unet`` embeds that
decoder's stride-4 map instead (``output_stride`` and ``embed_stride`` then
play no part).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones import Encoder
from weaksal.models._outputs import Outputs
from weaksal.models._parts import DECODER_DEFAULTS, build_decoder, build_encoder, is_paper
from weaksal.models._registry import register_model
from weaksal.nn.decoders import Decoder
from weaksal.nn.heads import SubPixelUpsample

REGIONS = ("conv", "fc")


def _two_convs(in_channels: int, out_channels: int) -> nn.Sequential:
    """1x1 conv -> BN -> ReLU -> 1x1 conv: maps ``5C`` features to the D-dim metric space."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 1),
    )


def resize_prior(prior: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(N, 1, H, W)`` map in [0, 1] to ``size``: area average when shrinking, bilinear otherwise."""
    if tuple(prior.shape[-2:]) == tuple(size):
        return prior
    if prior.shape[-2] >= size[0] and prior.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(prior, size)
    return F.interpolate(prior, size=size, mode="bilinear", align_corners=False)


class SubPixelConcat(Decoder):
    """LPS's paper decoder: every block's features, sub-pixel up-sampled to ``C`` channels, concatenated."""

    def __init__(self, encoder: Encoder, channels: int = 64, embed_stride: int = 2) -> None:
        super().__init__()
        strides = encoder.strides
        if embed_stride < 1 or any(max(s, embed_stride) % min(s, embed_stride) for s in strides):
            raise ValueError(f"embed_stride {embed_stride} and stage strides {strides} must nest")
        self.upsample = nn.ModuleList(
            SubPixelUpsample(c, channels, s // embed_stride)
            if s >= embed_stride  # stages finer than the embedding are average-pooled to it
            else nn.Sequential(nn.AvgPool2d(embed_stride // s), SubPixelUpsample(c, channels, 1))
            for c, s in zip(encoder.out_channels, strides, strict=True)
        )
        self.out_channels, self.stride = channels * len(strides), embed_stride

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([up(x) for up, x in zip(self.upsample, features, strict=True)], dim=1)


class LPSNet(nn.Module):
    """``forward(rgb, prior)`` -> ``Outputs.saliency``: logits ``d_bg - d_fg`` at the input size.

    ``rgb`` is float RGB in [0, 1] ``(N, 3, H, W)``; ``prior`` ``(N, 1, H', W')``
    in [0, 1] (any size), the map whose salient and background regions give the
    anchors. :meth:`promote` runs the iterative test (Eq. 5).
    """

    def __init__(
        self, encoder: Encoder, decoder: Decoder, embed_dim: int = 512, region: str = "conv"
    ) -> None:
        super().__init__()
        if region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, not {region!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.region = region
        width = decoder.out_channels
        self.pixel_embedding = _two_convs(width, embed_dim)
        if region == "conv":
            self.region_embedding = _two_convs(width, embed_dim)
        else:
            self.region_embedding = nn.Sequential(
                nn.Linear(width, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, embed_dim)
            )

    def embed(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pixel embeddings (N, D, h, w), region features)``: computed once per image.

        Region features are the conv-embedded map (conv variant, ``D`` channels)
        or the ``5C`` map itself (FC variant), averaged over regions later.
        """
        joint = self.decoder(self.encoder.forward_image(rgb))
        pixels = self.pixel_embedding(joint)
        regions = self.region_embedding(joint) if self.region == "conv" else joint
        return pixels, regions

    def anchors(self, regions: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Eq. 2: ``(N, 2, D)`` salient and background anchors, each image on its own."""
        prior = resize_prior(prior.float(), tuple(regions.shape[-2:]))
        weights = torch.cat([prior, 1.0 - prior], dim=1)  # (N, 2, h, w)
        totals = weights.sum(dim=(2, 3)).clamp_min(1e-6)
        means = torch.einsum("nkhw,ndhw->nkd", weights, regions.float()) / totals[..., None]
        if self.region == "fc":
            means = self.region_embedding(means)
        return means.float()

    @staticmethod
    def classify(pixels: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """Eq. 3 as a logit: ``||phi - mu_bg|| - ||phi - mu_fg||``, ``(N, 1, h, w)``."""
        pixels = pixels.float()
        squared = (
            pixels.pow(2).sum(1, keepdim=True)
            - 2.0 * torch.einsum("ndhw,nkd->nkhw", pixels, anchors)
            + anchors.pow(2).sum(-1)[..., None, None]
        )
        distances = squared.clamp_min(1e-6).sqrt()  # (N, 2, h, w): to salient, to background
        return distances[:, 1:2] - distances[:, 0:1]

    def forward(self, rgb: torch.Tensor, prior: torch.Tensor) -> Outputs:
        pixels, regions = self.embed(rgb)
        logits = self.classify(pixels, self.anchors(regions, prior))
        size = rgb.shape[-2:]
        return Outputs(
            saliency=F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        )

    @torch.no_grad()
    def promote(
        self,
        rgb: torch.Tensor,
        prior: torch.Tensor,
        iterations: int = 3,
        regions: str = "soft",
        threshold: float = 0.5,
        history: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Iterative testing (Eq. 5): ``Y(t+1) = t/(t+1) Y(t) + 1/(t+1) Z(t)``, returns ``Y(T)``.

        ``Z(t)`` is the classifier's map with anchors from the regions of
        ``Y(t)``: weighted by ``Y(t)`` itself (``regions="soft"``, the released
        code) or by ``Y(t) > threshold`` (``"binary"``; an image whose binary
        region is empty keeps the soft weights). ``Y(0)`` is the prior, so
        ``iterations=0`` returns it and ``Y(1)`` is the first result alone.
        Maps are at the embedding resolution; ``history`` collects ``Y(0..T)``.
        """
        if regions not in ("soft", "binary"):
            raise ValueError(f"regions must be 'soft' or 'binary', not {regions!r}")
        pixels, features = self.embed(rgb)
        current = resize_prior(prior.float(), tuple(pixels.shape[-2:]))
        if history is not None:
            history.append(current)
        for t in range(iterations):
            weights = current
            if regions == "binary":
                binary = (current > threshold).float()
                area = binary.mean(dim=(1, 2, 3), keepdim=True)
                usable = (area > 0) & (area < 1)
                weights = torch.where(usable, binary, current)
            result = torch.sigmoid(self.classify(pixels, self.anchors(features, weights)))
            current = (t * current + result) / (t + 1)
            if history is not None:
                history.append(current)
        return current


@register_model(
    "lps",
    task="promote",
    inputs="rgb+prior",
    defaults={
        **DECODER_DEFAULTS,
        "output_stride": 8,
        "channels": 64,
        "embed_dim": 512,
        "region": "conv",
        "embed_stride": 2,
        "gate": None,  # the certainty gate calibrated on val (weaksal.methods.lps.gate); None: off
        "gate_floor": 0.0,  # ... applied to priors at least this certain (0: every prior)
    },
    legacy_keys={"upsample.": "decoder.upsample."},
    about="LPS: image + prior map -> promoted map (weaksal promote)",
)
def lps(spec: dict[str, Any], pretrained: str) -> nn.Module:
    encoder = build_encoder(spec, pretrained, paper_stride=int(spec["output_stride"]))
    if is_paper(spec):
        decoder = SubPixelConcat(encoder, int(spec["channels"]), int(spec["embed_stride"]))
    else:
        decoder = build_decoder(spec, encoder)
    return LPSNet(encoder, decoder, int(spec["embed_dim"]), spec["region"])
