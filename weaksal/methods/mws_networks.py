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
``[<start>, w1, ..., <end>]``, as in the authors' code. ``saliency`` is the
map ``s``; ``forward`` (RGB -> logits at the input size) makes either network
usable wherever a saliency model is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones import Encoder


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
    def __init__(self, encoder: Encoder, feature_dim: int) -> None:
        super().__init__()
        if encoder.output_stride != 16:
            raise ValueError("MWS's CNet and PNet need an encoder at output stride 16")
        self.encoder = encoder
        self.attention = AttentionModule(encoder.out_channels[-1], feature_dim)

    def attend(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(saliency logits at stride 16, global feature g)`` of RGB in [0, 1]."""
        return self.attention(self.encoder.forward_image(rgb)[-1])

    @staticmethod
    def upsample(logits: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        """Saliency logits at the input size (bilinear), the saliency-model contract."""
        return F.interpolate(logits, size=rgb.shape[-2:], mode="bilinear", align_corners=False)


class CNet(_AttentionNet):
    """Backbone + attention + linear classifier over ``num_classes`` tags."""

    def __init__(self, encoder: Encoder, num_classes: int, feature_dim: int = 512) -> None:
        super().__init__(encoder, feature_dim)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def forward(self, rgb: torch.Tensor, coarse: bool = False):
        """Saliency logits at the input size; ``coarse``: (class logits (N, C), stride-16 logits).

        Training goes through ``forward`` so that DDP and autocast wrappers see it.
        """
        saliency, g = self.attend(rgb)
        return (self.classifier(g), saliency) if coarse else self.upsample(saliency, rgb)


class PNet(_AttentionNet):
    """Backbone + attention + LSTM caption decoder over a ``vocab_size``-word vocabulary."""

    def __init__(
        self, encoder: Encoder, vocab_size: int, feature_dim: int = 512, hidden: int = 512
    ) -> None:
        super().__init__(encoder, feature_dim)
        self.embed = nn.Embedding(
            vocab_size, feature_dim
        )  # words share g's space (code: embed 512)
        self.lstm = nn.LSTM(feature_dim, hidden, num_layers=1, batch_first=True)
        self.vocab = nn.Linear(hidden, vocab_size)

    def forward(self, rgb: torch.Tensor, tokens: torch.Tensor | None = None, coarse: bool = False):
        """Saliency logits at the input size; ``coarse``: (word logits or None, stride-16 logits).

        Teacher forcing: ``tokens`` (N, T) is ``<start> w1 .. wn <end>`` padded
        with 0; step 0 sees ``g``, step t > 0 the embedding of ``tokens[:, t - 1]``;
        the word logits (N, T, V) predict ``tokens``.
        """
        saliency, g = self.attend(rgb)
        if not coarse:
            return self.upsample(saliency, rgb)
        if tokens is None:
            return None, saliency
        inputs = torch.cat([g.unsqueeze(1), self.embed(tokens[:, :-1]).to(g.dtype)], dim=1)
        hidden, _ = self.lstm(inputs)
        return self.vocab(hidden), saliency

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
