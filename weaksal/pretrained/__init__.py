"""Trained models shipped inside the package, chosen by name (``weaksal predict --model wss``).

Each model is a folder ``weaksal/pretrained/<name>/`` with the network in half
precision (``model.safetensors``), the resolved ``config.yaml`` that trained
it, its training logs (``logs/<stage>.jsonl``), ``summary.json`` (pseudo-label
quality per round) and ``eval.json`` (benchmark scores): everything needed to
trust the numbers and to reproduce them with ``weaksal train``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from weaksal.errors import WeaksalError

PACKAGE_DIR = Path(__file__).resolve().parent

#: name -> what it is; the first is the default of ``weaksal predict``
PRETRAINED: dict[str, str] = {
    "wss": "WSS (Wang et al., CVPR 2017) trained from DUTS-TR-50 image tags only, EfficientNet-Lite0",
    "lps": "LPS (Zeng et al., CVPR 2018) promoter, DUTS-TR-50 pixel masks, EfficientNet-Lite0",
    "mws": "MWS (Zeng et al., CVPR 2019) SNet from DUTS-TR-50 tags, COCO-MINI captions and"
    " unlabelled images, EfficientNet-Lite0; with its caption network (pnet.safetensors)",
}
#: name -> {file in the shipped folder: model file in the run} shipped beside model.safetensors
EXTRA_MODELS: dict[str, dict[str, str]] = {
    "mws": {"pnet.safetensors": "coherence/pnet.safetensors"},
}
DEFAULT_MODEL = "wss"
MAX_SHIPPED_BYTES = 25 * 1024 * 1024


def pretrained_dir(name: str) -> Path:
    if name not in PRETRAINED:
        raise WeaksalError(
            f"unknown shipped model {name!r}. Fix: choose one of {', '.join(PRETRAINED)}, "
            "or pass the path of a .safetensors/.onnx model file"
        )
    return PACKAGE_DIR / name


def resolve_model(model: str | Path) -> Path:
    """A model file path from a path or a shipped model's name."""
    path = Path(model)
    if path.suffix in (".safetensors", ".onnx") or path.exists():
        if not path.is_file():
            raise WeaksalError(f"{path}: no such model file. Fix: check the path")
        return path
    model_file = pretrained_dir(str(model)) / "model.safetensors"
    if not model_file.is_file():
        raise WeaksalError(
            f"{model_file}: the shipped model {model!r} is missing from this install. "
            "Fix: reinstall weaksal, or pass a trained model file"
        )
    return model_file


def model_card(name: str) -> dict:
    """The shipped model's config, benchmark scores and pseudo-label summary."""
    folder = pretrained_dir(name)
    return {
        "name": name,
        "description": PRETRAINED[name],
        "config": yaml.safe_load((folder / "config.yaml").read_text()),
        "eval": json.loads((folder / "eval.json").read_text()),
        "summary": json.loads((folder / "summary.json").read_text()),
    }


def ship_run(run_dir: str | Path, name: str, model: str = "final.safetensors") -> Path:
    """Copy a finished pipeline run into the package as shipped model ``name``.

    Needs the run's root ``config.yaml``, ``eval.json`` and ``summary.json``
    (written by ``weaksal train ... --evaluate``); every stage folder with a
    ``metrics.jsonl`` contributes its log. The copy is built beside the target
    and renamed, so a failure never leaves half a model behind.
    """
    from weaksal.models import load_model, save_model

    run_dir = Path(run_dir)
    extras = list(EXTRA_MODELS.get(name, {}).values())
    needed = [run_dir / f for f in (model, *extras, "config.yaml", "eval.json", "summary.json")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise WeaksalError(
            f"{run_dir}: cannot ship, missing {', '.join(missing)}. Fix: finish the run with "
            "`weaksal train METHOD --config CONFIG --out RUN` (it evaluates at the end)"
        )
    target = pretrained_dir(name)
    staging = target.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "logs").mkdir(parents=True)
    files = {"model.safetensors": model, **EXTRA_MODELS.get(name, {})}
    for shipped, source in files.items():
        network, spec = load_model(run_dir / source)
        save_model(staging / shipped, network, spec, half=True)
    size = sum((staging / shipped).stat().st_size for shipped in files)
    if size > MAX_SHIPPED_BYTES:
        shutil.rmtree(staging)
        raise WeaksalError(
            f"{run_dir / model}: {size / 2**20:.1f} MB in half precision, over 25 MB"
            " (with the extra models)"
        )
    for file in ("config.yaml", "eval.json", "summary.json"):
        shutil.copyfile(run_dir / file, staging / file)
    for log in sorted(run_dir.glob("*/metrics.jsonl")):
        shutil.copyfile(log, staging / "logs" / f"{log.parent.name}.jsonl")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target
