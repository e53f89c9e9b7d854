"""ResNet-50 (He et al., 2016) under torchvision's parameter names.

torchvision's "v1.5" network: the stride-2 of each downsampling bottleneck sits on its
3x3 conv, not on the first 1x1. Layers ``conv1, bn1, relu, maxpool, layer1..layer4,
avgpool, fc`` as in torchvision, so ``resnet50-0676ba61.pth`` (and the V2 weights)
load with ``strict=True``.

Stages:

========  =========================  =====  =====
stage     layers                     chan.  stride
========  =========================  =====  =====
0         conv1, bn1, relu             64      2
1         maxpool, layer1 (3 blocks)  256      4
2         layer2 (4 blocks)           512      8
3         layer3 (6 blocks)          1024     16
4         layer4 (3 blocks)          2048     32
========  =========================  =====  =====

``make_dilated`` follows torchvision's ``replace_stride_with_dilation`` (and DeepLab's
ResNet): in a dilated layer the strided 3x3 conv and the 1x1 downsample get stride 1,
the first block's 3x3 conv keeps the dilation of the layer before, the other blocks get
the new one (output stride 8: layer3 at 2 and layer4 at 4; 16: layer4 at 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import WeightsSource

_TV = "https://download.pytorch.org/models/"


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4, plus the identity or a projection."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _layer(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    first = Bottleneck(in_channels, width, stride)
    rest = [Bottleneck(width * Bottleneck.expansion, width) for _ in range(blocks - 1)]
    return nn.Sequential(first, *rest)


class ResNet(Encoder):
    """Bottleneck ResNet; ``blocks`` per layer, (3, 4, 6, 3) for ResNet-50."""

    out_channels = (64, 256, 512, 1024, 2048)
    base_strides = (2, 4, 8, 16, 32)
    classifier_keys = ("avgpool", "fc")

    def __init__(self, blocks: tuple[int, int, int, int], num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = _layer(64, 64, blocks[0], stride=1)
        self.layer2 = _layer(256, 128, blocks[1], stride=2)
        self.layer3 = _layer(512, 256, blocks[2], stride=2)
        self.layer4 = _layer(1024, 512, blocks[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def get_stages(self) -> Sequence[nn.Module]:
        return [
            nn.Sequential(self.conv1, self.bn1, self.relu),
            nn.Sequential(self.maxpool, self.layer1),
            self.layer2,
            self.layer3,
            self.layer4,
        ]

    def _dilate_stage(self, index: int, dilation: int) -> None:
        """torchvision's rule: the first block keeps the previous dilation (half of this one).

        Its strided 3x3 conv read the finer grid of the layer before, so stride 1 with
        that grid's dilation samples the same pixels; the later blocks read this
        layer's coarser grid, hence ``dilation``. The 1x1 projection only loses its stride.
        """
        for position, block in enumerate(self.get_stages()[index]):
            rate = dilation // 2 if position == 0 else dilation
            block.conv2.stride = (1, 1)
            block.conv2.dilation = (rate, rate)
            block.conv2.padding = (rate, rate)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)


@BACKBONES.register("resnet50", weights=WeightsSource(url=_TV + "resnet50-0676ba61.pth"))
def resnet50() -> ResNet:
    """ResNet-50 v1.5 (torchvision ``resnet50``)."""
    return ResNet((3, 4, 6, 3))
