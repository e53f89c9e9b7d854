"""Checkpoints that are atomic, safe to load, and resume training exactly.

Layout::

    run_dir/checkpoints/step-00001200/{model}.safetensors   weights, one file per model
                                      trainer_state.pt      optimizers, loop counters, RNG states
    run_dir/checkpoints/latest                             name of the newest step folder

A step folder is written under a temporary name and renamed into place, so a
run killed mid-save leaves the previous checkpoint intact. Weights are
safetensors and the trainer state loads with ``torch.load(weights_only=True)``,
so opening a checkpoint never runs code from it. Saving every RNG state lets
a resumed run draw the same dropout masks and augmentations as one that never
stopped.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from weaksal.plumbing.atomic import honour_umask, write_text
from weaksal.plumbing.errors import CheckpointError

TRAINER_STATE = "trainer_state.pt"
_STEP_DIR = re.compile(r"^step-(\d{8,})$")


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    state: Mapping[str, Any] | None = None,
    keep: int = 2,
    is_writer: bool = True,
) -> Path:
    """Write step ``step`` atomically, point ``latest`` at it, prune to ``keep`` step folders.

    ``state`` holds the loop's counters (plain Python values and tensors).
    Under DDP pass ``is_writer=False`` on every rank but 0: it then writes
    nothing and only returns the folder rank 0 writes.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    checkpoints = Path(run_dir) / "checkpoints"
    final = checkpoints / step_dir_name(step)
    if not is_writer:
        return final
    trainer_state = {
        "step": step,
        "optimizers": {name: opt.state_dict() for name, opt in (optimizers or {}).items()},
        "state": dict(state or {}),
        "rng": _rng_states(),
    }
    _check_loadable(trainer_state["state"], final / TRAINER_STATE)

    checkpoints.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=checkpoints))
    honour_umask(tmp, folder=True)
    try:
        for name, model in models.items():
            file = tmp / f"{name}.safetensors"
            tensors = _plain_tensors(model.state_dict(), final / file.name)
            save_file(tensors, file, metadata={"step": str(step)})
            _fsync(file)
        with open(tmp / TRAINER_STATE, "wb") as handle:
            torch.save(trainer_state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        for file in tmp.iterdir():
            honour_umask(file)  # safetensors writes its files 0600
        _fsync(tmp)
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(checkpoints)
    write_text(checkpoints / "latest", final.name + "\n")
    _prune(checkpoints, keep, final.name)
    return final


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The step folder to resume from: the one ``latest`` names, else the highest complete one."""
    checkpoints = Path(run_dir) / "checkpoints"
    try:
        named = (checkpoints / "latest").read_text(encoding="utf-8").strip()
    except OSError:
        named = ""
    if _STEP_DIR.match(named) and _is_complete(checkpoints / named):
        return checkpoints / named
    steps = _step_dirs(checkpoints)
    return steps[-1][1] if steps else None


def load_checkpoint(
    path: str | Path,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    restore_rng: bool = True,
    map_location: str | torch.device = "cpu",
) -> dict:
    """Load weights and optimizer states from step folder ``path``; return the loop's ``state``."""
    path = Path(path)
    state_file = path / TRAINER_STATE
    if not state_file.is_file():
        raise CheckpointError(
            state_file,
            "not a checkpoint folder (no trainer state in it)",
            "pass a checkpoints/step-XXXXXXXX folder, e.g. latest_checkpoint(run_dir)",
        )
    for name, model in models.items():
        load_weights(path / f"{name}.safetensors", model, map_location)
    try:
        trainer_state = torch.load(state_file, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            state_file,
            f"cannot be read safely ({type(exc).__name__}: {exc})",
            "resume from an earlier checkpoint folder, or start a new run",
        ) from None
    saved = trainer_state["optimizers"]
    for name, optimizer in (optimizers or {}).items():
        if name not in saved:
            raise CheckpointError(
                state_file,
                f"has no optimizer '{name}' (it has: {', '.join(saved) or 'none'})",
                "resume with the optimizers the run was saved with",
            )
        try:
            optimizer.load_state_dict(saved[name])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(
                state_file,
                f"optimizer '{name}' does not fit ({exc})",
                "resume with the same model and optimizer settings as the saved run",
            ) from None
    if restore_rng:
        _set_rng_states(trainer_state["rng"])
    return trainer_state["state"]


def load_weights(
    path: str | Path, model: nn.Module, map_location: str | torch.device = "cpu"
) -> None:
    """Load one safetensors file into ``model``, requiring the exact same keys and shapes."""
    path = Path(path)
    fix = "load it into the model architecture it was saved from (see the run's config.yaml)"
    if not path.is_file():
        raise CheckpointError(path, "weights file not found", "check the checkpoint folder")
    try:
        tensors = load_file(path, device=str(map_location))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            path,
            f"cannot be read as safetensors ({exc})",
            "the file is truncated or corrupt: use an earlier checkpoint",
        ) from None
    expected = model.state_dict()
    missing = [key for key in expected if key not in tensors]
    unexpected = [key for key in tensors if key not in expected]
    reshaped = [
        f"{key} {tuple(tensors[key].shape)} vs model {tuple(value.shape)}"
        for key, value in expected.items()
        if key in tensors and tensors[key].shape != value.shape
    ]
    problems = [
        f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for label, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatch", reshaped),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(
            path, "weights do not fit the model (" + "; ".join(problems) + ")", fix
        )
    model.load_state_dict(tensors, strict=True)


def _plain_tensors(state_dict: Mapping[str, Any], target: Path) -> dict[str, torch.Tensor]:
    """CPU tensors that each own their whole storage, as safetensors requires.

    Tied weights share storage and views cover only part of one; those are
    cloned, everything else is saved without a copy.
    """
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                target,
                f"state_dict entry '{key}' is a {type(value).__name__}, not a tensor",
                "keep non-tensor model state out of state_dict, or in the loop's state",
            )
        tensor = value.detach().cpu()
        storage = tensor.untyped_storage()
        whole = (
            tensor.is_contiguous()
            and tensor.storage_offset() == 0
            and tensor.numel() * tensor.element_size() == storage.nbytes()
        )
        if not whole or storage.data_ptr() in seen:
            tensor = tensor.clone(memory_format=torch.contiguous_format)
        seen.add(tensor.untyped_storage().data_ptr())
        tensors[key] = tensor
    return tensors


def _check_loadable(state: dict, target: Path) -> None:
    """Fail at save time, not at resume time, when ``state`` would not load safely."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            target,
            f"the loop state cannot be loaded back with weights_only=True ({exc})",
            "keep only numbers, strings, lists, dicts and tensors in the state passed to save_checkpoint",
        ) from None


def _rng_states() -> dict[str, Any]:
    """Every global RNG, in types ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached_gaussian],
        "python": [version, list(internal), gauss_next],
    }


def _set_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"].cpu())
    if torch.cuda.is_available():
        for device, cuda_state in enumerate(states["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), device)
    kind, keys, pos, has_gauss, cached_gaussian = states["numpy"]
    np.random.set_state(
        (kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, cached_gaussian)
    )
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an existing ``final`` is moved aside first, then removed."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    os.replace(final, old / final.name)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _step_dirs(checkpoints: Path) -> list[tuple[int, Path]]:
    """Complete step folders, oldest first; temporary folders of an unfinished save are skipped."""
    if not checkpoints.is_dir():
        return []
    found = []
    for entry in checkpoints.iterdir():
        match = _STEP_DIR.match(entry.name)
        if match and _is_complete(entry):
            found.append((int(match.group(1)), entry))
    return sorted(found)


def _is_complete(step_dir: Path) -> bool:
    return (step_dir / TRAINER_STATE).is_file()


def _prune(checkpoints: Path, keep: int, latest: str) -> None:
    """Delete step folders beyond the newest ``keep`` (never ``latest``) and stale temporaries."""
    for _, step_dir in _step_dirs(checkpoints)[:-keep]:
        if step_dir.name != latest:
            shutil.rmtree(step_dir, ignore_errors=True)
    for entry in checkpoints.iterdir():
        if entry.name.startswith(".step-") and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder's entries) to disk before it is renamed into view."""
    if os.name == "nt" and path.is_dir():
        return  # Windows cannot open a folder to flush it
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
