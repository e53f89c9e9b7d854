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

from weaksal.models._registry import architecture, complete_spec, create_model
from weaksal.plumbing.errors import CheckpointError

FORMAT = 2
_FIX = "pass a model written by `weaksal train` or weaksal.models.save_model"


def save_model(
    path: str | Path, model: nn.Module, spec: Mapping[str, Any], half: bool = False
) -> None:
    """Write ``model`` and the ``spec`` that rebuilds it as one safetensors file, atomically."""
    from safetensors.torch import save_file

    from weaksal.plumbing.atomic import atomic_path

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
    try:
        spec = json.loads(metadata["weaksal_spec"])
    except ValueError as exc:
        raise CheckpointError(path, f"its model spec is not valid JSON ({exc})", _FIX) from None
    if not isinstance(spec, dict):
        raise CheckpointError(
            path, f"its model spec is a JSON {type(spec).__name__}, not an object", _FIX
        )
    try:
        completed = {**complete_spec(spec), "format": int(spec.get("format", 1))}
    except (ValueError, TypeError) as exc:
        raise CheckpointError(
            path,
            f"{exc}",
            "pass a weaksal model file, or update weaksal to the version that wrote it",
        ) from None
    _check_spec_values(path, spec, architecture(spec).defaults)
    return completed


def _check_spec_values(path: Path, spec: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Every spec value has its default's type; sizes are positive and bounded.

    A crafted spec must fail here, by name, not as a traceback (or a huge
    allocation) while the network is built from it.
    """
    for key, default in {**defaults, "backbone": ""}.items():
        if key not in spec or spec[key] is None or default is None:
            continue
        value = spec[key]
        kind = type(default)
        fits = (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        )
        if not fits:
            raise CheckpointError(
                path,
                f"spec key '{key}' is {value!r}, not a {kind.__name__}",
                _FIX,
            )
        if kind is int and not 0 <= value <= _MAX_SIZE:
            raise CheckpointError(
                path, f"spec key '{key}' is {value}, outside 0..{_MAX_SIZE}", _FIX
            )
    size = spec.get("input_size", defaults.get("input_size"))
    if not isinstance(size, int) or isinstance(size, bool) or not 32 <= size <= 4096:
        raise CheckpointError(path, f"spec key 'input_size' is {size!r}, not in 32..4096", _FIX)


_MAX_SIZE = 1 << 24  # no width, class count or vocabulary of a saliency network comes near


def _check_shapes(path: Path, spec: Mapping[str, Any], shapes: Mapping[str, tuple]) -> None:
    """Compare the file's tensor shapes with the network its spec describes, built on "meta".

    A network on the meta device has shapes but no storage, so an inflated
    spec costs nothing here; a spec that does not fit its weights is refused
    before anything real is allocated, and the real network is then bounded
    by what the file holds.
    """
    try:
        with torch.device("meta"):
            skeleton = create_model(dict(spec), pretrained="none")
    except CheckpointError:
        raise
    except Exception as exc:  # the spec names something this version cannot build
        raise CheckpointError(path, f"its spec does not describe a network ({exc})", _FIX) from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    wrong = sorted(k for k in set(expected) & set(shapes) if expected[k] != tuple(shapes[k]))
    if missing or extra or wrong:
        details = []
        if wrong:
            k = wrong[0]
            details.append(
                f"{len(wrong)} shapes differ, e.g. {k} {tuple(shapes[k])} vs {expected[k]}"
            )
        if missing:
            details.append(f"{len(missing)} tensors missing, e.g. {missing[0]}")
        if extra:
            details.append(f"{len(extra)} unexpected tensors, e.g. {extra[0]}")
        raise CheckpointError(
            path,
            f"weights do not fit its spec ({'; '.join(details)})",
            "re-export the model with the weaksal version that trained it",
        )


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
    from safetensors import safe_open
    from safetensors.torch import load_file

    from weaksal.plumbing.devices import resolve_device

    device = resolve_device(device)
    path = Path(path)
    spec = read_spec(path)
    with safe_open(str(path), framework="pt") as handle:
        shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    if spec["format"] < 2:
        shapes = rename_legacy_keys(shapes, architecture(spec).legacy_keys)
    _check_shapes(path, spec, shapes)
    model = create_model(spec, pretrained="none")
    state = load_file(str(path))
    if spec["format"] < 2:
        state = rename_legacy_keys(state, architecture(spec).legacy_keys)
    for key, value in state.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(
                path,
                f"weight {key} holds NaN or infinite values",
                "use a checkpoint from before training diverged",
            )
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
