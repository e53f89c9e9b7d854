"""WSS's networks (Wang et al., CVPR 2017): the stage-1 image-level network and the stage-2 FCN.

Stage 1 (Sec. 3.2-3.3, Fig. 2): a shared backbone at stride 16 feeds two
sibling branches. The FCN branch gives mid-level score maps ``S`` (3x3 conv ->
BN -> ReLU, clipped at 7 as in the authors' Caffe model); the Foreground
Inference Net (FIN) gives the foreground map ``F`` (3x3 conv to one channel ->
BN -> sigmoid). Every channel of ``S`` is masked by ``F`` and pooled by Global
Smooth Pooling (Eq. 2-3), then a linear layer scores the image-level classes.

Stage 2 (Sec. 3.5): the FIN extended to full resolution: the FIN's logits are
up-sampled x2, x2, x4 by transposed convolutions (bilinear init), adding a
3x3-conv score of the backbone's stride-8 and stride-4 features after the first
two (the conv4 and conv3 skips of the VGG original). The skip convolutions
start at zero, so before fine-tuning the network reproduces the stage-1 map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones import Encoder
from weaksal.nn.heads import LearnedUpsample
from weaksal.nn.pooling import GlobalPool


def _foreground_branch(in_channels: int) -> nn.Sequential:
    """FIN: 3x3 conv to one channel (no bias, BN follows) -> BN; sigmoid applied by the caller."""
    return nn.Sequential(nn.Conv2d(in_channels, 1, 3, padding=1, bias=False), nn.BatchNorm2d(1))


class WSSClassifier(nn.Module):
    """Stage 1: image-level tags -> ``logits`` (N, C) and the foreground map ``foreground`` (N, 1, h, w)."""

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
        self.fin = _foreground_branch(top)
        self.pool = GlobalPool(pooling, mu)
        self.classifier = nn.Linear(score_channels, num_classes)
        self.relu_cap = relu_cap

    def forward(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        top = self.encoder.forward_image(rgb)[-1]
        scores = F.relu(self.scores(top))
        if self.relu_cap is not None:
            scores = scores.clamp_max(self.relu_cap)
        foreground = torch.sigmoid(self.fin(top))
        pooled = self.pool(scores * foreground)  # Eq. 2-3: each score map masked by F, then GSP
        return {"logits": self.classifier(pooled), "foreground": foreground}


class WSSSaliencyNet(nn.Module):
    """Stage 2: RGB in [0, 1] -> saliency logits (N, 1, H, W) at the input resolution."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        if encoder.output_stride != 16:
            raise ValueError("WSS's saliency network needs an encoder at output stride 16")
        self.encoder = encoder
        self.fin = _foreground_branch(encoder.out_channels[-1])
        stride8 = encoder.strides.index(8)
        stride4 = encoder.strides.index(4)
        self.skip_levels = (stride8, stride4)
        self.skip8 = nn.Conv2d(encoder.out_channels[stride8], 1, 3, padding=1)
        self.skip4 = nn.Conv2d(encoder.out_channels[stride4], 1, 3, padding=1)
        for conv in (self.skip8, self.skip4):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.up2a = LearnedUpsample(1, 2)
        self.up2b = LearnedUpsample(1, 2)
        self.up4 = LearnedUpsample(1, 4)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        features = self.encoder.forward_image(rgb)
        x = self.up2a(self.fin(features[-1])) + self.skip8(features[self.skip_levels[0]])
        x = self.up2b(x) + self.skip4(features[self.skip_levels[1]])
        return self.up4(x)

    def load_stage1(self, classifier: WSSClassifier) -> None:
        """Start from the stage-1 weights: backbone and FIN (each self-training round restarts here)."""
        self.encoder.load_state_dict(classifier.encoder.state_dict())
        self.fin.load_state_dict(classifier.fin.state_dict())
