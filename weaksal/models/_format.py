"""The single-file model format: one ``.safetensors`` file, weights plus the spec that rebuilds them.

The spec (architecture, backbone, decoder, input size, the family's keys and
the task contract) is JSON in the file's metadata. Loading never unpickles
anything, so model files from strangers are safe to open.

Format 2 (this package) names parameters ``encoder.* / decoder.* / head.*``;
format-1 files (written before it, e.g. the first shipped WSS, LPS and MWS
models) still load: their parameter names are mapped with the
``legacy_keys`` each family registers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from weaksal.errors import CheckpointError
from weaksal.models._registry import architecture, complete_spec, create_model

FORMAT = 2
_FIX = "pass a model written by `weaksal train` or weaksal.models.save_model"


def save_model(
    path: str | Path, model: nn.Module, spec: Mapping[str, Any], half: bool = False
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
    full = {**complete_spec(spec), "format": FORMAT}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"weaksal_spec": json.dumps(full)})


def read_spec(path: str | Path) -> dict[str, Any]:
    """The spec of a model file, completed with its architecture's defaults and task contract."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:
        raise CheckpointError(
            path, f"is not a readable safetensors model file ({exc})", _FIX
        ) from None
    if "weaksal_spec" not in metadata:
        raise CheckpointError(path, "has no weaksal model spec in its metadata", _FIX)
    spec = json.loads(metadata["weaksal_spec"])
    try:
        return {**complete_spec(spec), "format": int(spec.get("format", 1))}
    except ValueError as exc:
        raise CheckpointError(
            path, str(exc), "update weaksal to the version that wrote it"
        ) from None


def rename_legacy_keys(
    state: Mapping[str, torch.Tensor], renames: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """Format-1 parameter names -> today's: the first matching old prefix is replaced."""
    renamed = {}
    for key, value in state.items():
        for old, new in renames.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        renamed[key] = value
    return renamed


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild and load a model file; returns ``(model in eval mode, completed spec)``."""
    from safetensors.torch import load_file

    spec = read_spec(path)
    model = create_model(spec, pretrained="none")
    state = load_file(str(path))
    if spec["format"] < 2:
        state = rename_legacy_keys(state, architecture(spec).legacy_keys)
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
