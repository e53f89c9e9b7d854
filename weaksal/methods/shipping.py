"""Shipping a finished run as a packaged model: ``weaksal ship RUN NAME``.

The run's method (its registry entry) decides which of the run's files ship
and in which role; the copy, in half precision, with the run's config, logs,
scores and run record, a manifest and a model card, is built beside the
target folder of :mod:`weaksal.pretrained` and renamed into place, so a
failure never leaves half a model. Reading shipped models stays in
:mod:`weaksal.pretrained`, which needs nothing of the methods.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

import weaksal.pretrained as pretrained
from weaksal.methods import get_method
from weaksal.methods.cards import write_card
from weaksal.models import load_model, read_spec, save_model
from weaksal.plumbing.atomic import write_json
from weaksal.plumbing.digest import file_sha256
from weaksal.plumbing.errors import WeaksalError

#: the most a shipped model's networks may weigh, together, in half precision
MAX_SHIPPED_BYTES = 25 * 1024 * 1024


def write_manifest(
    folder: Path, name: str, method: str, description: str, sources: dict[str, tuple[str, str]]
) -> None:
    """``folder/manifest.json``; ``sources`` maps each shipped file to (its run file, its role)."""

    files = {}
    for file, (source, role) in sources.items():
        spec = read_spec(folder / file)
        files[file] = {
            "role": role,
            "task": spec["task"],
            "inputs": spec["inputs"],
            "architecture": spec["architecture"],
            "decoder": spec["decoder"] if "decoder" in spec else "paper",
            "source": source,
            "sha256": file_sha256(folder / file),
        }
    write_json(
        folder / pretrained.MANIFEST,
        {"name": name, "method": method, "description": description, "files": files},
    )


def ship_run(run_dir: str | Path, name: str, description: str | None = None) -> Path:
    """Copy a finished pipeline run into the package as shipped model ``name``.

    The run's method (``config.yaml``) says which of its files ship and in
    which role. Needs the run's ``config.yaml``, ``eval.json`` and
    ``summary.json`` (written by ``weaksal train ... --evaluate``); every stage
    folder with a ``metrics.jsonl`` contributes its log. The copy is built
    beside the target and renamed, so a failure never leaves half a model.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise WeaksalError(
            f"{run_dir}: cannot ship, no config.yaml. Fix: pass a run folder of `weaksal train`"
        )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    method = get_method(config["method"])
    sources = {file: (entry.source, entry.role) for file, entry in method.shipped.items()}
    needed = [run_dir / s for s, _ in sources.values()]
    needed += [run_dir / f for f in ("eval.json", "summary.json")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise WeaksalError(
            f"{run_dir}: cannot ship, missing {', '.join(missing)}. Fix: finish the run with "
            "`weaksal train METHOD --config CONFIG --out RUN` (it evaluates at the end)"
        )
    if not name.isidentifier():
        raise WeaksalError(f"{name!r}: a shipped model's name must be a Python identifier")
    target = pretrained.PACKAGE_DIR / name
    staging = target.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "logs").mkdir(parents=True)
    for shipped, (source, _) in sources.items():
        network, spec = load_model(run_dir / source)
        save_model(staging / shipped, network, spec, half=True)
    size = sum((staging / shipped).stat().st_size for shipped in sources)
    if size > MAX_SHIPPED_BYTES:
        shutil.rmtree(staging)
        raise WeaksalError(
            f"{run_dir}: {size / 2**20:.1f} MB of networks in half precision, over 25 MB"
        )
    for file in ("config.yaml", "eval.json", "summary.json", "run.json"):
        if file == "run.json" and not (run_dir / file).is_file():
            continue  # a run record is optional (older runs); the card then gives the config
        shutil.copyfile(run_dir / file, staging / file)
    for log in sorted(run_dir.glob("*/metrics.jsonl")):
        shutil.copyfile(log, staging / "logs" / f"{log.parent.name}.jsonl")
    backbone = config.get("model", {}).get("backbone", "")
    write_manifest(
        staging, name, config["method"], description or f"{method.about}; {backbone}", sources
    )
    write_card(staging, name)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target
