"""Saliency networks created by name, and the single-file format they are shipped in.

A model file is one ``.safetensors`` file: the weights plus, in its metadata, the
JSON ``spec`` that rebuilds the network (architecture, backbone, output stride,
input size). Loading never unpickles anything, so model files from strangers are
safe to open. Every saliency network takes float RGB in [0, 1], ``(N, 3, H, W)``,
and returns logits ``(N, 1, H, W)`` at the input resolution.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from weaksal.backbones import Encoder, create_backbone
from weaksal.errors import CheckpointError
from weaksal.nn.heads import DilatedSumHead, LearnedUpsample


class SNet(nn.Module):
    """MWS's saliency network: stride-8 backbone, dilated 6/12/18/24 sum, learned x8 up-sampling.

    Also the fully-supervised reference model of this toolkit (same network,
    trained on pixel masks).
    """

    def __init__(self, encoder: Encoder, dilations=(6, 12, 18, 24)) -> None:
        super().__init__()
        if encoder.output_stride != 8:
            raise ValueError("SNet needs an encoder at output stride 8")
        self.encoder = encoder
        self.head = DilatedSumHead(encoder.out_channels[-1], 1, dilations)
        self.upsample = LearnedUpsample(1, 8)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        features = self.encoder.forward_image(rgb)[-1]
        return self.upsample(self.head(features))


def _encoder(spec: dict[str, Any], pretrained: str, output_stride: int) -> Encoder:
    return create_backbone(
        spec["backbone"],
        pretrained=pretrained,
        output_stride=output_stride,
        freeze_bn=spec.get("freeze_bn", False),
    )


def _build_snet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    return SNet(_encoder(spec, pretrained, 8))


def _build_wss(spec: dict[str, Any], pretrained: str) -> nn.Module:
    from weaksal.methods.wss_networks import WSSSaliencyNet

    return WSSSaliencyNet(_encoder(spec, pretrained, 16))


def _build_wss_classifier(spec: dict[str, Any], pretrained: str) -> nn.Module:
    from weaksal.methods.wss_networks import WSSClassifier

    return WSSClassifier(
        _encoder(spec, pretrained, 16),
        len(spec["classes"]),
        spec.get("pooling") or "gsp",
        float(spec.get("mu") or 10.0),
        int(spec.get("score_channels") or 512),
        spec.get("relu_cap", 7.0),
    )


def _build_lps(spec: dict[str, Any], pretrained: str) -> nn.Module:
    from weaksal.methods.lps_networks import LPSNet

    return LPSNet(
        _encoder(spec, pretrained, int(spec.get("output_stride") or 8)),
        int(spec.get("channels") or 64),
        int(spec.get("embed_dim") or 512),
        spec.get("region") or "conv",
        int(spec.get("embed_stride") or 2),
    )


def _build_mws_cnet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    from weaksal.methods.mws_networks import CNet

    return CNet(
        _encoder(spec, pretrained, 16), len(spec["classes"]), int(spec.get("feature_dim") or 512)
    )


def _build_mws_pnet(spec: dict[str, Any], pretrained: str) -> nn.Module:
    from weaksal.methods.mws_networks import PNet

    return PNet(
        _encoder(spec, pretrained, 16),
        len(spec["vocabulary"]),
        int(spec.get("feature_dim") or 512),
        int(spec.get("hidden") or 512),
    )


ARCHITECTURES: dict[str, Callable[[dict[str, Any], str], nn.Module]] = {
    "snet": _build_snet,  # MWS's SNet, also the fully-supervised reference
    "wss": _build_wss,  # WSS's stage-2 saliency FCN
    "wss_classifier": _build_wss_classifier,  # WSS's stage-1 image-level network
    "lps": _build_lps,  # LPS: image + prior map -> promoted map (weaksal promote)
    "mws_cnet": _build_mws_cnet,  # MWS's CNet (tags); its attention map is a saliency map
    "mws_pnet": _build_mws_pnet,  # MWS's PNet (captions, `weaksal caption`); likewise
}


def create_model(spec: dict[str, Any], pretrained: str = "imagenet") -> nn.Module:
    """Network described by ``spec`` (needs ``architecture`` and ``backbone``)."""
    architecture = spec.get("architecture")
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[architecture](spec, pretrained)


def save_model(
    path: str | Path, model: nn.Module, spec: dict[str, Any], half: bool = False
) -> None:
    """Write ``model`` and the ``spec`` that rebuilds it as one safetensors file, atomically."""
    from safetensors.torch import save_file

    from weaksal.data.atomic import atomic_path

    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous().clone()
        if half and value.is_floating_point():
            value = value.half()
        state[key] = value
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"weaksal_spec": json.dumps(spec)})


def read_spec(path: str | Path) -> dict[str, Any]:
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:
        raise CheckpointError(
            path,
            f"is not a readable safetensors model file ({exc})",
            "pass a model written by `weaksal train` or weaksal.models.save_model",
        ) from None
    if "weaksal_spec" not in metadata:
        raise CheckpointError(
            path,
            "has no weaksal model spec in its metadata",
            "pass a model written by `weaksal train` or weaksal.models.save_model",
        )
    return json.loads(metadata["weaksal_spec"])


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild and load a model file; returns ``(model in eval mode, spec)``."""
    from safetensors.torch import load_file

    spec = read_spec(path)
    model = create_model(spec, pretrained="none")
    state = load_file(str(path))
    reference = model.state_dict()
    state = {k: v.to(reference[k].dtype) if k in reference else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            path,
            f"weights do not fit its spec ({str(exc)[:300]})",
            "re-export the model with the weaksal version that trained it",
        ) from None
    return model.to(device).eval(), spec
