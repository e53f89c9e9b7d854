"""MWS's attention networks (Zeng et al., CVPR 2019): CNet (tags) and PNet (captions).

Both put the same attention module (Sec. 3.1, Eq. 1-4) on a stride-16
backbone feature map ``v``::

    s_i   = sigmoid(w_s . v_i + b_s)        coarse saliency map (N, 1, h, w)
    f_i   = s_i * (W_f v_i + b_f)           attended features
    alpha = softmax_i(w_a . f_i + b_a)      attention over positions
    g     = sum_i alpha_i f_i               global feature (N, D)

CNet scores ``g`` with one linear layer (multi-label classification); PNet
decodes a caption from ``g`` with a one-layer LSTM (hidden 512) and teacher
forcing: the inputs are ``[g, emb(<start>), emb(w1), ...]`` and the targets
``[<start>, w1, ..., <end>]``, as in the authors' code. ``Outputs.coarse``
is the map ``s`` (logits) and ``Outputs.saliency`` the same up-sampled to
the input size, so either network works wherever a saliency model does.

``decoder: paper``: ``v`` is the stride-16 feature map of the dilated
backbone; ``decoder: fpn | unet``: the multi-scale decoder's stride-4 map.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones import Encoder
from weaksal.models._outputs import Outputs
from weaksal.models._parts import (
    DECODER_DEFAULTS,
    LastStage,
    build_decoder,
    build_encoder,
    is_paper,
)
from weaksal.models._registry import register_model
from weaksal.nn.decoders import Decoder


class AttentionModule(nn.Module):
    """Eq. 1-4: coarse saliency ``s``, attended features and their attention-pooled sum ``g``."""

    def __init__(self, in_channels: int, feature_dim: int = 512) -> None:
        super().__init__()
        self.saliency = nn.Conv2d(in_channels, 1, 1)  # w_s, b_s
        self.features = nn.Conv2d(in_channels, feature_dim, 1)  # W_f, b_f
        self.weights = nn.Conv2d(feature_dim, 1, 1)  # w_a, b_a
        for conv in (self.saliency, self.features, self.weights):
            nn.init.normal_(conv.weight, std=0.01)  # N(0, 0.01) as the authors' code
            nn.init.zeros_(conv.bias)

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(saliency logits (N, 1, h, w), g (N, D))``."""
        logits = self.saliency(v)
        attended = torch.sigmoid(logits) * self.features(v)
        alpha = torch.softmax(self.weights(attended).flatten(1), dim=1)  # (N, h*w)
        g = torch.einsum("np,ndp->nd", alpha, attended.flatten(2))
        return logits, g


class _AttentionNet(nn.Module):
    def __init__(self, encoder: Encoder, decoder: Decoder, feature_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.attention = AttentionModule(decoder.out_channels, feature_dim)

    def attend(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(saliency logits at the decoder's stride, global feature g)`` of RGB in [0, 1]."""
        return self.attention(self.decoder(self.encoder.forward_image(rgb)))

    @staticmethod
    def upsample(logits: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        """Saliency logits at the input size (bilinear), the saliency-model contract."""
        return F.interpolate(logits, size=rgb.shape[-2:], mode="bilinear", align_corners=False)


class CNet(_AttentionNet):
    """Backbone + attention + linear classifier over ``num_classes`` tags."""

    def __init__(
        self, encoder: Encoder, decoder: Decoder, num_classes: int, feature_dim: int = 512
    ) -> None:
        super().__init__(encoder, decoder, feature_dim)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def forward(self, rgb: torch.Tensor) -> Outputs:
        """``Outputs(classes (N, C), coarse, saliency)``; training goes through ``forward`` too,
        so that DDP and autocast wrappers see it."""
        saliency, g = self.attend(rgb)
        return Outputs(
            classes=self.classifier(g), coarse=saliency, saliency=self.upsample(saliency, rgb)
        )


class PNet(_AttentionNet):
    """Backbone + attention + LSTM caption decoder over a ``vocab_size``-word vocabulary."""

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        vocab_size: int,
        feature_dim: int = 512,
        hidden: int = 512,
    ) -> None:
        super().__init__(encoder, decoder, feature_dim)
        self.embed = nn.Embedding(
            vocab_size, feature_dim
        )  # words share g's space (code: embed 512)
        self.lstm = nn.LSTM(feature_dim, hidden, num_layers=1, batch_first=True)
        self.vocab = nn.Linear(hidden, vocab_size)

    def forward(self, rgb: torch.Tensor, tokens: torch.Tensor | None = None) -> Outputs:
        """``Outputs(coarse, saliency)``, and ``words`` (N, T, V) when ``tokens`` are given.

        Teacher forcing: ``tokens`` (N, T) is ``<start> w1 .. wn <end>`` padded
        with 0; step 0 sees ``g``, step t > 0 the embedding of ``tokens[:, t - 1]``;
        the word logits predict ``tokens``.
        """
        saliency, g = self.attend(rgb)
        outputs = Outputs(coarse=saliency, saliency=self.upsample(saliency, rgb))
        if tokens is not None:
            inputs = torch.cat([g.unsqueeze(1), self.embed(tokens[:, :-1]).to(g.dtype)], dim=1)
            hidden, _ = self.lstm(inputs)
            outputs.words = self.vocab(hidden)
        return outputs

    @torch.no_grad()
    def generate(self, rgb: torch.Tensor, max_length: int = 20) -> torch.Tensor:
        """Greedy decoding: ``(N, max_length + 2)`` word indices (``<start>`` first, as trained)."""
        _, g = self.attend(rgb)
        inputs, state, words = g.unsqueeze(1), None, []
        for _ in range(max_length + 2):
            hidden, state = self.lstm(inputs, state)
            word = self.vocab(hidden[:, -1]).argmax(dim=1)
            words.append(word)
            inputs = self.embed(word).unsqueeze(1).to(g.dtype)
        return torch.stack(words, dim=1)


def _encoder_decoder(spec: dict[str, Any], pretrained: str) -> tuple[Encoder, Decoder]:
    encoder = build_encoder(spec, pretrained, paper_stride=16)
    decoder = LastStage(encoder) if is_paper(spec) else build_decoder(spec, encoder)
    return encoder, decoder


@register_model(
    "mws_cnet",
    task="classification",
    outputs=("classes", "coarse", "saliency"),
    defaults={**DECODER_DEFAULTS, "feature_dim": 512},
    about="MWS's CNet (tags); its attention map is a saliency map",
)
def mws_cnet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    encoder, decoder = _encoder_decoder(spec, pretrained)
    return CNet(encoder, decoder, len(spec["classes"]), int(spec["feature_dim"]))


@register_model(
    "mws_pnet",
    task="caption",
    outputs=("words", "coarse", "saliency"),
    defaults={**DECODER_DEFAULTS, "feature_dim": 512, "hidden": 512, "max_caption_length": 20},
    about="MWS's PNet (captions, `weaksal caption`); its attention map is a saliency map",
)
def mws_pnet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    encoder, decoder = _encoder_decoder(spec, pretrained)
    return PNet(
        encoder,
        decoder,
        len(spec["vocabulary"]),
        int(spec["feature_dim"]),
        int(spec["hidden"]),
    )
