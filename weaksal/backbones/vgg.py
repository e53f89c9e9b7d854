"""VGG-16 and VGG-16-BN (Simonyan & Zisserman, 2015) under torchvision's parameter names.

The network is torchvision's: ``features`` (13 3x3 convs, each followed by BatchNorm in
the ``_bn`` variant and a ReLU, with a 2x2 max-pool after each of the five blocks),
``avgpool`` (adaptive, 7x7) and ``classifier`` (4096-4096-1000), so torchvision's
``vgg16-397923af.pth`` and ``vgg16_bn-6c64b313.pth`` load with ``strict=True``.

Stages (stage ``i`` is the pool closing block ``i - 1``, then conv block ``i``; the fifth
pool is left out, as every saliency/segmentation code using VGG does):

========  ====  ====  ====  ====  ====
stage        0     1     2     3     4
========  ====  ====  ====  ====  ====
channels    64   128   256   512   512
stride       1     2     4     8    16
========  ====  ====  ====  ====  ====

``make_dilated(8)`` turns pool4 into an identity (1x1 window, stride 1) and gives the
conv5 block dilation 2, as DeepLab's VGG does; the default rule of
:meth:`Encoder._dilate_stage` does exactly that. Output stride 16 or 32 changes
nothing, since no stage is deeper than 16.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import WeightsSource

_TV = "https://download.pytorch.org/models/"

# output channels of each 3x3 conv, "M" for a 2x2 max-pool (torchvision's configuration "D")
_VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


class VGG(Encoder):
    """VGG-16 with or without BatchNorm; ``features.N`` numbering follows torchvision."""

    out_channels = (64, 128, 256, 512, 512)
    base_strides = (1, 2, 4, 8, 16)
    classifier_keys = ("avgpool", "classifier")

    def __init__(self, batch_norm: bool = False, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for width in _VGG16_LAYOUT:
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            layers.append(nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation, so ``pretrained="none"`` trains like its VGG."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def get_stages(self) -> Sequence[nn.Module]:
        """Split ``features`` at its max-pools; each pool opens the next stage."""
        layers = list(self.features)
        pools = [i for i, layer in enumerate(layers) if isinstance(layer, nn.MaxPool2d)]
        starts = [0, *pools[:-1]]
        return [nn.Sequential(*layers[start:end]) for start, end in zip(starts, pools, strict=True)]


@BACKBONES.register("vgg16", weights=WeightsSource(url=_TV + "vgg16-397923af.pth"))
def vgg16() -> VGG:
    """VGG-16 (torchvision ``vgg16``)."""
    return VGG(batch_norm=False)


@BACKBONES.register("vgg16_bn", weights=WeightsSource(url=_TV + "vgg16_bn-6c64b313.pth"))
def vgg16_bn() -> VGG:
    """VGG-16 with BatchNorm after each conv (torchvision ``vgg16_bn``)."""
    return VGG(batch_norm=True)
