"""DenseNet-169 (Huang et al., 2017) under torchvision's parameter names.

Growth rate 32, bottleneck width 4 x 32, blocks of (6, 12, 32, 32) layers, 64 stem
channels, transitions halving the channels. Modules ``features.conv0/norm0/relu0/pool0,
features.denseblockB.denselayerL.{norm1,conv1,norm2,conv2}, features.transitionT.
{norm,conv,pool}, features.norm5, classifier`` as in torchvision; its checkpoint
``densenet169-b2777c0a.pth`` uses the older ``norm.1``-style keys, which
:func:`weaksal.backbones.weights.remap_old_densenet_keys` renames before the strict load.

Stages:

========  ==========================================  =====  =====
stage     layers                                      chan.  stride
========  ==========================================  =====  =====
0         conv0, norm0, relu0                            64      2
1         pool0, denseblock1 (64 + 6 x 32)              256      4
2         transition1 (-> 128), denseblock2 (+ 12 x 32)  512      8
3         transition2 (-> 256), denseblock3 (+ 32 x 32) 1280     16
4         transition3 (-> 640), denseblock4 (+ 32 x 32), 1664     32
          norm5
========  ==========================================  =====  =====

The last stage ends at ``norm5``, without the ReLU torchvision applies before its classifier.

``make_dilated(8)`` is the MWS/SSNet DenseNet-169: the 2x2 average pools of transition2
and transition3 become identities (1x1 window, stride 1) and the 3x3 convs of
denseblock3 / denseblock4 get dilation 2 / 4; the default rule of
:meth:`Encoder._dilate_stage` does exactly that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import WeightsSource, remap_old_densenet_keys

_TV = "https://download.pytorch.org/models/"


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv to ``bn_size * growth`` channels, then BN-ReLU-3x3 conv to ``growth``."""

    def __init__(self, in_channels: int, growth: int, bn_size: int) -> None:
        super().__init__()
        width = bn_size * growth
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.Module):
    """Layers ``denselayer1..N``, each reading the concatenation of all earlier outputs."""

    def __init__(self, layers: int, in_channels: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(layers):
            layer = DenseLayer(in_channels + i * growth, growth, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


def _transition(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            norm=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(inplace=True),
            conv=nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            pool=nn.AvgPool2d(kernel_size=2, stride=2),
        )
    )


class DenseNet(Encoder):
    """DenseNet-BC; ``blocks`` layers per dense block, (6, 12, 32, 32) for DenseNet-169."""

    base_strides = (2, 4, 8, 16, 32)
    classifier_keys = ("classifier",)

    def __init__(
        self,
        blocks: tuple[int, int, int, int],
        growth: int = 32,
        init_channels: int = 64,
        bn_size: int = 4,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                conv0=nn.Conv2d(3, init_channels, kernel_size=7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(init_channels),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )
        )
        channels = init_channels
        out_channels = [init_channels]
        for index, layers in enumerate(blocks, start=1):
            if index > 1:
                self.features.add_module(
                    f"transition{index - 1}", _transition(channels, channels // 2)
                )
                channels //= 2
            self.features.add_module(
                f"denseblock{index}", DenseBlock(layers, channels, growth, bn_size)
            )
            channels += layers * growth
            out_channels.append(channels)
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)
        self.out_channels = tuple(out_channels)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def get_stages(self) -> Sequence[nn.Module]:
        f = self.features
        return [
            nn.Sequential(f.conv0, f.norm0, f.relu0),
            nn.Sequential(f.pool0, f.denseblock1),
            nn.Sequential(f.transition1, f.denseblock2),
            nn.Sequential(f.transition2, f.denseblock3),
            nn.Sequential(f.transition3, f.denseblock4, f.norm5),
        ]


@BACKBONES.register(
    "densenet169",
    weights=WeightsSource(url=_TV + "densenet169-b2777c0a.pth", remap=remap_old_densenet_keys),
)
def densenet169() -> DenseNet:
    """DenseNet-169 (torchvision ``densenet169``)."""
    return DenseNet((6, 12, 32, 32))
