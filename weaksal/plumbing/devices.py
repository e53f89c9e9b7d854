"""The torch device a command was asked for, refused by name when this machine lacks it."""

from __future__ import annotations

import torch

from weaksal.plumbing.errors import WeaksalError


class DeviceError(WeaksalError):
    """A device name that is malformed or not present on this machine."""


def best_device() -> torch.device:
    """The fastest device here: a CUDA GPU, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device(device)``, checked: a CUDA or MPS device that is not here is an error.

    ``"auto"`` picks :func:`best_device` (as training's ``engine.accelerator: auto`` does).
    """
    if device == "auto":
        return best_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(
            f"--device {device!r} is not a device name ({exc}). Fix: auto, cpu, cuda, cuda:1 or mps"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {device}: this machine has no CUDA GPU (or torch is the CPU build)."
                " Fix: --device cpu"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {device}: only {torch.cuda.device_count()} CUDA devices here."
                f" Fix: cuda:0 .. cuda:{torch.cuda.device_count() - 1}"
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"--device {device}: MPS is not available here. Fix: --device cpu")
    return resolved
