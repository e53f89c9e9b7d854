"""The encoder contract every backbone honours, so that heads never know which one they sit on.

An encoder maps a normalised-or-raw image batch to a list of feature maps, one per
stage, shallowest first. ``out_channels[i]`` and ``strides[i]`` describe stage ``i``
(stride relative to the input). ``make_dilated(output_stride)`` replaces the
strides of the deepest stages by dilation (as DeepLab does) so the last stage sits
at stride 8 or 16 instead of 32; ``freeze_batchnorm()`` keeps BatchNorm statistics
and affine parameters fixed during training (the seed papers' codes freeze BN for
their small-batch training). Each encoder owns its input normalisation: feed
``float`` RGB in [0, 1] through :meth:`Encoder.normalize` (or call
:meth:`Encoder.forward_image`), never re-implement the mean/std elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Encoder(nn.Module):
    """Base class for every backbone.

    Subclasses keep their layers under the attribute names of the reference
    implementation (torchvision's, or the EfficientNet-Lite package's) so that
    published checkpoints load with ``strict=True``, and set:

    - ``out_channels``: channels of each stage's output, shallowest first;
    - ``base_strides``: stride of each stage's output without dilation;
    - ``mean`` / ``std``: per-channel input normalisation for RGB in [0, 1];
    - ``get_stages()``: modules applied in order; stage ``i``'s output is feature ``i``
      (built from the registered layers on each call, never registered twice);
    - ``classifier_keys``: state-dict prefixes of the ImageNet classifier, which
      :meth:`drop_classifier` removes after a checkpoint is loaded.
    """

    out_channels: tuple[int, ...]
    base_strides: tuple[int, ...]
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __init__(self) -> None:
        super().__init__()
        self.output_stride = 32
        self._bn_frozen = False

    # -- the contract ----------------------------------------------------
    @property
    def strides(self) -> tuple[int, ...]:
        """Stride of each stage's output after :meth:`make_dilated`."""
        return tuple(min(s, self.output_stride) for s in self.base_strides)

    classifier_keys: tuple[str, ...] = ()

    def get_stages(self) -> Sequence[nn.Module]:
        raise NotImplementedError

    def drop_classifier(self) -> Encoder:
        """Delete the ImageNet classification layers, which the encoder never uses."""
        for prefix in self.classifier_keys:
            parent, _, name = prefix.rpartition(".")
            owner = self.get_submodule(parent) if parent else self
            if hasattr(owner, name):
                delattr(owner, name)
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of every stage for an already normalised batch ``(N, 3, H, W)``."""
        features = []
        for stage in self.get_stages():
            x = stage(x)
            features.append(x)
        return features

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """Map float RGB in [0, 1], shape ``(N, 3, H, W)``, to the backbone's input space."""
        mean = torch.tensor(self.mean, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
        return (rgb - mean) / std

    def forward_image(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        return self(self.normalize(rgb))

    def make_dilated(self, output_stride: int) -> Encoder:
        """Trade the strides of the deepest stages for dilation; ``output_stride`` in {8, 16, 32}."""
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        if output_stride > self.output_stride:
            raise ValueError("an encoder cannot be un-dilated; build a fresh one")
        for index, stride in enumerate(self.base_strides):
            if stride > output_stride:
                dilation = stride // output_stride
                self._dilate_stage(index, dilation)
        self.output_stride = output_stride
        return self

    def _dilate_stage(self, index: int, dilation: int) -> None:
        """Default: every conv of the stage gets stride 1 and ``dilation`` (SMP's rule).

        A stage whose base stride is twice the one before it contains the stride-2
        layer; setting all its convs to stride 1 and dilation ``dilation`` keeps
        the receptive field of the undilated network for the following layers.
        Families with unusual layers (pooling, TF "same" padding) override this.
        """
        for module in self.get_stages()[index].modules():
            if isinstance(module, nn.Conv2d):
                module.stride = (1, 1)
                if module.kernel_size[0] > 1:
                    module.dilation = (dilation, dilation)
                    module.padding = ((module.kernel_size[0] // 2) * dilation,) * 2
            elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                module.stride = 1
                # a stride-1 2x2 pool would shrink the map by one pixel: make it a no-op size
                if module.kernel_size in (2, (2, 2)):
                    module.kernel_size = 1
                    module.padding = 0

    def freeze_batchnorm(self) -> Encoder:
        """BN layers stay in eval mode and their parameters get no gradient."""
        self._bn_frozen = True
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                for parameter in module.parameters():
                    parameter.requires_grad_(False)
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> Encoder:
        super().train(mode)
        if self._bn_frozen:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self
