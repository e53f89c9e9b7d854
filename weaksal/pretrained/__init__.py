"""Trained models shipped inside the package, chosen by name (``weaksal predict --model wss``).

Each model is a folder ``weaksal/pretrained/<name>/`` holding its networks in
half precision, the resolved ``config.yaml`` that trained them, their
training logs (``logs/<stage>.jsonl``), ``summary.json`` (pseudo-label
quality per round), ``eval.json`` (benchmark scores), ``run.json`` (the
run's command, revision and machine), ``README.md`` (the model card,
:mod:`weaksal.methods.cards`) and ``manifest.json``:
which method made it, and every network file with its **role** (what uses
it: ``saliency`` for ``weaksal predict``, ``promote`` for ``weaksal
promote``, ``caption`` for ``weaksal caption``) and its task contract. The
method decides what ships and in which role (its registry entry); a folder
with a manifest is a shipped model, so adding one needs no list to edit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from weaksal.plumbing.errors import WeaksalError

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
#: the shipped model ``weaksal predict`` uses when none is named
DEFAULT_MODEL = "wss"


def shipped_names(role: str | None = None) -> list[str]:
    """Names of the shipped models (folders with a manifest), the default first.

    With ``role``, only the models that have a network playing it (``saliency``
    for ``weaksal predict``, ``promote``, ``caption``).
    """
    names = sorted(p.parent.name for p in PACKAGE_DIR.glob(f"*/{MANIFEST}"))
    if role is not None:
        names = [
            name
            for name in names
            if any(
                entry["role"] == role
                for entry in json.loads((PACKAGE_DIR / name / MANIFEST).read_text())[
                    "files"
                ].values()
            )
        ]
    return sorted(names, key=lambda name: name != DEFAULT_MODEL)


def pretrained_dir(name: str, role: str | None = None) -> Path:
    """The folder of shipped model ``name``; an unknown name lists those that play ``role``."""
    if name not in shipped_names():
        raise WeaksalError(
            f"unknown shipped model {name!r}. Fix: choose one of"
            f" {', '.join(shipped_names(role))}, or pass the path of a .safetensors/.onnx"
            " model file"
        )
    return PACKAGE_DIR / name


def read_manifest(name: str, role: str | None = None) -> dict[str, Any]:
    """Shipped model ``name``'s manifest; an unknown name lists the models playing ``role``."""
    return json.loads((pretrained_dir(name, role) / MANIFEST).read_text())


def shipped_file(name: str, role: str = "saliency") -> Path:
    """The file of shipped model ``name`` that plays ``role``; an error names the roles it has."""
    files = read_manifest(name, role)["files"]
    matches = [file for file, entry in files.items() if entry["role"] == role]
    if not matches:
        roles = ", ".join(sorted({entry["role"] for entry in files.values()}))
        raise WeaksalError(
            f"{pretrained_dir(name)}: the shipped model {name!r} has no {role} network (it has:"
            f" {roles}). Fix: name a shipped model with one, or pass a model file"
        )
    path = pretrained_dir(name) / matches[0]
    if not path.is_file():
        raise WeaksalError(
            f"{path}: the shipped model {name!r} is missing from this install. "
            "Fix: reinstall weaksal, or pass a trained model file"
        )
    return path


def resolve_model(model: str | Path, role: str = "saliency") -> Path:
    """A model file path from a path or a shipped model's name (its file playing ``role``).

    A bare ``str`` that is a shipped model's name is that model, even when a file or folder
    of that name lies in the working directory (``./wss`` is the path).
    """
    if isinstance(model, str) and model in shipped_names():
        return shipped_file(model, role)
    path = Path(model)
    if path.suffix in (".safetensors", ".onnx") or path.exists():
        if path.is_dir():
            raise WeaksalError(
                f"{model}: is a folder, not a model file. Fix: pass a .safetensors or .onnx"
                " file (a shipped model by its bare name)"
            )
        if not path.is_file():
            raise WeaksalError(f"{model}: no such model file. Fix: check the path")
        return path
    return shipped_file(str(model), role)


def model_card(name: str) -> dict[str, Any]:
    """The shipped model's manifest, config, benchmark scores and pseudo-label summary."""
    folder = pretrained_dir(name)
    manifest = read_manifest(name)
    return {
        "name": name,
        "description": manifest["description"],
        "method": manifest["method"],
        "files": manifest["files"],
        "config": yaml.safe_load((folder / "config.yaml").read_text()),
        "eval": json.loads((folder / "eval.json").read_text()),
        "summary": json.loads((folder / "summary.json").read_text()),
    }


#: the benchmarks a :class:`ModelInfo` carries scores of
BENCHMARKS = ("ECSSD", "SOD")


@dataclass(frozen=True)
class ModelInfo:
    """What ``weaksal models`` says about a shipped model, as values (``weaksal.list_models()``).

    Scores are read from the model's ``eval.json`` in one convention: ``*_maxf_pooled`` is its
    ``maxf_pooled`` (max F of the dataset-mean precision and recall over 256 thresholds,
    beta^2 = 0.3: the MATLAB toolbox's and the papers' max F) and ``*_mae`` its ``mae``;
    ``None`` where the file has no such score (a promoter such as LPS is scored by what it
    promotes, not on the benchmarks).
    """

    name: str
    method: str
    description: str
    task: str  # the task of its main network (the manifest's first file)
    roles: tuple[str, ...]  # what uses its networks: saliency, promote, caption
    supervision: str | None  # what taught it: its method's registry entry, as its card says
    size_mb: float  # every network file, in MB of 2**20 bytes
    ecssd_maxf_pooled: float | None
    ecssd_mae: float | None
    sod_maxf_pooled: float | None
    sod_mae: float | None

    SCORES: ClassVar[str] = "max F pooled / MAE"

    @property
    def supervision_short(self) -> str | None:
        """The supervision without its asides: up to the first ``;``, parentheses left out."""
        if self.supervision is None:
            return None
        return re.sub(r"\s*\([^)]*\)", "", self.supervision).split(";")[0].strip()

    def line(self) -> str:
        """One line: name, roles, supervision, ECSSD/SOD scores (convention named), size."""
        scores = [
            (
                dataset,
                getattr(self, f"{dataset.lower()}_maxf_pooled"),
                getattr(self, f"{dataset.lower()}_mae"),
            )
            for dataset in BENCHMARKS
        ]
        if all(f is None and m is None for _, f, m in scores):
            scored = "no ECSSD/SOD scores"
        else:
            scored = f"{self.SCORES}: " + ", ".join(
                f"{dataset} {_score(f)} / {_score(m)}" for dataset, f, m in scores
            )
        taught = (
            f"from {self.supervision_short}"
            if self.supervision_short
            else "supervision not recorded"
        )
        return f"{self.name}: {', '.join(self.roles)}; {taught}; {scored}; {self.size_mb:.1f} MB"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def card_header(name: str) -> dict[str, Any]:
    """The YAML header of shipped model ``name``'s card (empty without a card)."""
    path = pretrained_dir(name) / "README.md"
    text = path.read_text() if path.is_file() else ""
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:].partition("\n---\n")[0]) or {}


def model_info(name: str) -> ModelInfo:
    """The record of shipped model ``name``: what it is, what taught it, its size and scores."""
    manifest = read_manifest(name)
    folder = pretrained_dir(name)
    files = manifest["files"]
    evaluation = folder / "eval.json"
    benchmarks = (
        json.loads(evaluation.read_text()).get("benchmarks", {}) if evaluation.is_file() else {}
    )
    scores = {
        f"{dataset.lower()}_{key}": (benchmarks.get(dataset) or {}).get(key)
        for dataset in BENCHMARKS
        for key in ("maxf_pooled", "mae")
    }
    return ModelInfo(
        name=name,
        method=manifest["method"],
        description=manifest["description"],
        task=next(iter(files.values()))["task"],
        roles=tuple(dict.fromkeys(entry["role"] for entry in files.values())),
        # the method's registry entry, as the card's header records it (weaksal.methods
        # writes the card; this layer does not import it)
        supervision=card_header(name).get("supervision"),
        size_mb=sum((folder / file).stat().st_size for file in files) / 2**20,
        **scores,
    )


def model_line(name: str) -> str:
    """One line about a shipped model (``weaksal models``): :meth:`ModelInfo.line`."""
    return model_info(name).line()


def list_models() -> list[ModelInfo]:
    """The shipped models' records (``weaksal models`` prints one line each), the default first."""
    return [model_info(name) for name in shipped_names()]


def read_card(name: str) -> str:
    """The model card (``README.md``) of shipped model ``name``."""
    path = pretrained_dir(name) / "README.md"
    if not path.is_file():
        raise WeaksalError(
            f"{path}: the shipped model {name!r} has no model card. Fix: reinstall weaksal"
        )
    return path.read_text()
