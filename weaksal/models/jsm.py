"""JSM's networks (Li, Ji et al., NeurIPS 2021): saliency and depth networks, and TSM.

* ``jsm``: the saliency network, the only one used at test time (RGB in,
  saliency out). The released code uses CPD-ResNet50: an *attention* map
  from the deep features, a holistic attention (HA) that re-weights a
  stride-8 feature map with ``max(minmax(gauss31(att)), att)``, and a
  *detection* map from the re-weighted features, plus a 96-channel feature
  map that TSM reads. Here: the attention map from the two deepest levels
  (a small aggregation, stride 16), HA on the encoder's stride-8 level (its
  Gaussian 31 x 4 kernel learnable, as CPD and Sec. 3.2 have it), and the
  detection map from a multi-scale decoder (``fpn``/``unet``) whose output
  features (``decoder_width`` channels, stride 4) are TSM's visual input.
  CPD duplicates the deepest stages for the detection branch; these layers
  are shared here, which keeps a CPU step affordable. There is no ``paper``
  decoder: CPD's ResNet-50 weights cannot be had on these machines.
* ``jsm_depth``: the same network, a separate copy, regressing the
  saliency-masked depth from **RGB** (SSM, Eq. 1): ``Outputs.depth`` is the
  detection map, ``coarse`` the attention map, both raw values.
* ``jsm_text``: TSM, the fill-in-the-blank model (``model/TextNN.py``): the
  visual features times a saliency mask -> 1x1 conv to 256, global average
  pool, dropout, FC, tiled over the 21 slots; the caption's word vectors with
  a learnable start vector in slot 0, sinusoidal positions, the salient
  word's slot replaced by a learnable mask vector, a linear map to 256; a
  3-layer decoder (4 heads, causal self-attention, then the "cross-modal
  fusion" add / multiply / concatenate in place of cross-attention, FFN 512);
  the masked slot's output -> FC 256 -> FC to the dictionary (slot 0 of the
  dictionary is ``negative``, the target of the background-masked pass).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.models._outputs import Outputs
from weaksal.models._parts import DECODER_DEFAULTS, build_decoder, build_encoder, is_paper
from weaksal.models._registry import register_model
from weaksal.nn.heads import DenseHead

SLOTS = 21  # the start slot and 20 caption words
NEGATIVE = "negative"


def gaussian_kernel(size: int = 31, nsig: float = 4.0) -> torch.Tensor:
    """CPD's ``gkern(31, 4)``: normal-density bins spanning +-``nsig`` standard deviations
    over ``size`` pixels, their outer product's square root, summing to 1; ``(1, 1, k, k)``."""
    interval = (2 * nsig + 1.0) / size
    x = torch.linspace(-nsig - interval / 2, nsig + interval / 2, size + 1, dtype=torch.float64)
    density = torch.diff(0.5 * (1 + torch.erf(x / math.sqrt(2))))
    kernel = torch.sqrt(torch.outer(density, density))
    return (kernel / kernel.sum()).float()[None, None]


def minmax(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-image min-max normalisation of ``(N, C, H, W)`` maps to [0, 1]."""
    flat = x.flatten(1)
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    shape = (-1,) + (1,) * (x.dim() - 1)
    return (x - low.view(shape)) / (high - low + eps).view(shape)


def holistic_attention(attention: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """CPD's HA and JSM's SSM smoothing: ``max(minmax(kernel * att), att)`` of probabilities."""
    soft = F.conv2d(attention, kernel.to(attention.dtype), padding=kernel.shape[-1] // 2)
    return torch.maximum(minmax(soft), attention)


class AttentionBranch(nn.Module):
    """The attention map from the two deepest levels: 1x1 to 32 each, sum at stride 16, 3x3, 1x1."""

    def __init__(self, channels: Sequence[int], width: int = 32) -> None:
        super().__init__()
        self.reduce = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels[-2:])
        self.mix = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.out = nn.Conv2d(width, 1, 1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        shallow, deep = self.reduce[0](features[-2]), self.reduce[1](features[-1])
        deep = F.interpolate(deep, size=shallow.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(self.mix(shallow + deep))


class AttentionDetection(nn.Module):
    """CPD's two maps on our encoder and decoder: attention, HA, detection (see module docstring).

    ``forward(rgb)`` returns the attention logits (stride 16), the detection
    logits (input size) and the decoder's features.
    """

    def __init__(self, spec: dict[str, Any], pretrained: str) -> None:
        super().__init__()
        if is_paper(spec):
            raise ValueError(
                "JSM's paper network is CPD-ResNet50, whose weights cannot be had here; set"
                " model.decoder to a multi-scale decoder (fpn or unet)"
            )
        self.encoder = build_encoder(spec, pretrained, paper_stride=32)
        self.attention = AttentionBranch(self.encoder.out_channels)
        self.attended_level = list(self.encoder.strides).index(8)
        self.kernel = nn.Parameter(gaussian_kernel())  # learnable, as in CPD's HA
        self.decoder = build_decoder(spec, self.encoder)
        self.head = DenseHead(self.decoder.out_channels, 1)

    def maps(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = list(self.encoder.forward_image(rgb))
        attention = self.attention(features)
        level = features[self.attended_level]
        weights = F.interpolate(
            torch.sigmoid(attention), size=level.shape[-2:], mode="bilinear", align_corners=False
        )
        features[self.attended_level] = level * holistic_attention(weights, self.kernel)
        decoded = self.decoder(features)
        return attention, self.head(decoded, tuple(rgb.shape[-2:])), decoded


class SaliencyNetwork(AttentionDetection):
    def forward(self, rgb: torch.Tensor) -> Outputs:
        attention, detection, features = self.maps(rgb)
        return Outputs(saliency=detection, coarse=attention, features=features)


class DepthNetwork(AttentionDetection):
    def forward(self, rgb: torch.Tensor) -> Outputs:
        attention, detection, _ = self.maps(rgb)
        return Outputs(depth=detection, coarse=attention)


JSM_DEFAULTS = {**DECODER_DEFAULTS, "decoder": "fpn"}


@register_model(
    "jsm",
    task="saliency",
    outputs=("saliency", "coarse", "features"),
    defaults=JSM_DEFAULTS,
    about="JSM's saliency network (attention, holistic attention, detection); RGB only",
)
def jsm(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return SaliencyNetwork(spec, pretrained)


@register_model(
    "jsm_depth",
    task="depth",
    outputs=("depth", "coarse"),
    defaults=JSM_DEFAULTS,
    about="JSM's depth network: the saliency-masked depth regressed from RGB (SSM)",
)
def jsm_depth(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return DepthNetwork(spec, pretrained)


# -- TSM ----------------------------------------------------------------------------
def sinusoidal_positions(slots: int, dim: int) -> torch.Tensor:
    """fairseq's sinusoidal embedding: sines in the first half of the channels, cosines after."""
    half = dim // 2
    rates = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000.0) / (half - 1)))
    angles = torch.arange(slots, dtype=torch.float32)[:, None] * rates[None]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return F.pad(table, (0, dim - 2 * half))


class FusionLayer(nn.Module):
    """One decoder layer: causal self-attention, the cross-modal fusion, FFN (each + residual, LN)."""

    def __init__(self, dim: int = 256, heads: int = 4, ffn: int = 512, dropout: float = 0.1):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.concat = nn.Linear(2 * dim, dim)
        self.cross = nn.Linear(3 * dim, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(inplace=True), nn.Linear(ffn, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, visual: torch.Tensor, causal: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(x, x, x, attn_mask=causal, need_weights=False)
        x = self.norm1(x + self.dropout(attended))
        fused = self.cross(
            torch.cat([x + visual, x * visual, self.concat(torch.cat([x, visual], -1))], -1)
        )
        x = self.norm2(x + self.dropout(fused))
        return self.norm3(x + self.dropout(self.ffn(x)))


class FillInTheBlank(nn.Module):
    """TSM: which word fills the masked slot, given the masked image features and the caption.

    ``forward(features, mask, tokens, position)``: ``features`` (N, F, h, w)
    from the saliency network (detached by the caller), ``mask`` (N, 1, H, W)
    in [0, 1] (resized to the features), ``tokens`` (N, 20) indices into the
    caption vocabulary (0 = padding), ``position`` (N,) the masked slot (1..20).
    Returns ``Outputs(words=(N, 1, len(targets)))``, the masked slot's logits.
    """

    def __init__(self, spec: dict[str, Any], pretrained: str) -> None:
        super().__init__()
        words, dim = list(spec["words"]), int(spec["model_dim"])
        self.targets = list(spec["targets"])
        word_dim = int(spec["word_dim"])
        if spec["embedding"] == "minilm":
            from weaksal.nn.word_vectors import word_vectors

            table = (
                word_vectors(words) if pretrained != "none" else torch.zeros(len(words), word_dim)
            )
            self.register_buffer("word_table", table)  # frozen, saved with the model
            self.embed = None
        else:
            self.embed = nn.Embedding(len(words), word_dim, padding_idx=0)
        self.start_vec = nn.Parameter(torch.randn(word_dim) * 0.02)
        self.mask_vec = nn.Parameter(torch.randn(word_dim) * 0.02)
        self.register_buffer("positions", sinusoidal_positions(SLOTS, word_dim), persistent=False)
        self.text_in = nn.Linear(word_dim, dim)
        self.visual_in = nn.Conv2d(int(spec["feature_channels"]), dim, 1)
        self.visual_fc = nn.Sequential(nn.Dropout(0.1), nn.Linear(dim, dim))
        self.layers = nn.ModuleList(FusionLayer(dim) for _ in range(int(spec["layers"])))
        self.out = nn.Sequential(nn.Linear(dim, dim), nn.Linear(dim, len(self.targets)))
        causal = torch.triu(torch.full((SLOTS, SLOTS), float("-inf")), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)

    def vectors(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.embed is not None:
            return self.embed(tokens)
        return self.word_table[tokens]

    def forward(
        self,
        features: torch.Tensor,
        mask: torch.Tensor,
        tokens: torch.Tensor,
        position: torch.Tensor,
    ) -> Outputs:
        mask = F.interpolate(mask, size=features.shape[-2:], mode="bilinear", align_corners=False)
        visual = self.visual_in(features * mask).mean(dim=(2, 3))
        visual = self.visual_fc(visual)[:, None].expand(-1, SLOTS, -1)
        n = tokens.shape[0]
        words = torch.cat([self.start_vec.expand(n, 1, -1), self.vectors(tokens)], dim=1)
        words = words + self.positions
        masked = F.one_hot(position, SLOTS).bool()[..., None]
        words = torch.where(masked, self.mask_vec.to(words.dtype), words)
        x = self.text_in(words)
        for layer in self.layers:
            x = layer(x, visual, self.causal)
        picked = x[torch.arange(n, device=x.device), position]
        return Outputs(words=self.out(picked)[:, None])


@register_model(
    "jsm_text",
    task="fill-blank",
    inputs="features+text",
    outputs=("words",),
    defaults={"model_dim": 256, "layers": 3, "embedding": "minilm", "word_dim": 384},
    about="JSM's TSM: the masked salient word from masked saliency features and the caption",
)
def jsm_text(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return FillInTheBlank(spec, pretrained)
