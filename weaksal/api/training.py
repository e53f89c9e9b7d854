"""Training as one Python call: ``weaksal.train(config, out)`` is what ``weaksal train`` runs.

>>> import weaksal
>>> result = weaksal.train("smoke/wss", "runs/smoke-wss")       # doctest: +SKIP
>>> result.models, result.use                                   # doctest: +SKIP
([PosixPath('runs/smoke-wss/final.safetensors')], 'weaksal predict IMAGES --model ...')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weaksal.methods import resolved_training_config
from weaksal.plumbing.errors import ConfigError


@dataclass
class TrainResult:
    """A finished run of :func:`train`.

    Attributes
    ----------
    run_dir : Path
        The run folder: config, run record, logs, checkpoints and models.
    models : list of Path
        The run's model files that would ship (or the kept model when none exists yet).
    scores : dict
        Benchmark name -> headline scores of the kept model (empty without evaluation).
    use : str
        The command that uses the model on a user's folders.
    validation : dict
        The last stage that validated, its criterion and score (``stage``, ``key``,
        ``value``); empty when nothing was held out.
    """

    run_dir: Path
    models: list[Path]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    use: str = ""
    validation: dict[str, Any] = field(default_factory=dict)


def train(
    config: str | Path,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    method: str | None = None,
    resume: bool = True,
    evaluate: bool = True,
    images: str | Path | None = None,
    tags: str | Path | None = None,
) -> TrainResult | None:
    """Train a method from a config, resuming a run folder that holds part of it.

    Parameters
    ----------
    config : str or Path
        A YAML file, or a shipped config: a method's name (its default config) or
        ``method/name`` (``weaksal train --help`` lists them).
    out : str or Path, optional
        The run folder (default ``runs/<config name>``).
    overrides : sequence of str
        ``key.sub=value`` settings over the config (``+key=value`` adds a key).
    method : str, optional
        Refuse a config of another method (a guard for scripts).
    resume : bool
        Continue from the run folder's newest checkpoint.
    evaluate : bool
        Score the kept model on the config's ``evaluate`` benchmarks (reporting only).
    images, tags : optional
        Your own tagged photos (WSS): a folder, and its ``tags.csv`` when it lies elsewhere;
        see :func:`own_data_overrides` (a seeded held-out split when the folder has none).

    Returns
    -------
    TrainResult or None
        None on the non-zero ranks of a ``torchrun`` launch (rank 0 reports).
    """
    from weaksal.methods import get_method, method_config
    from weaksal.methods.evaluation import evaluate_run, kept_model
    from weaksal.plumbing.parallel import shard_from_env

    path = method_config(config)
    overrides = list(overrides)
    if images is not None:
        overrides, _ = own_data_overrides(path, images, out, overrides, tags)
    resolved = resolved_training_config(path, overrides)
    if method is not None and resolved.get("method") != method:
        raise ConfigError(
            path, f"is a config for {resolved.get('method')!r}, not {method!r}", "name its method"
        )
    entry = get_method(resolved["method"])
    run_dir = Path(out) if out is not None else Path("runs") / path.stem
    summary = entry.target(resolved, run_dir, resume) or {}
    if shard_from_env()[0] != 0:
        return None
    validation: dict[str, Any] = {}
    for stage, record in summary.items():  # the last stage that validated
        if isinstance(record, dict) and isinstance(record.get("val"), dict) and record["val"]:
            validation = {"stage": stage, **record["val"]}
    scores: dict[str, Any] = {}
    if evaluate:  # an empty list still writes eval.json (no scores), so the run can ship
        scores = evaluate_run(run_dir, resolved.get("evaluate") or [])
    shipped = [run_dir / item.source for item in entry.shipped.values()]
    models = [p for p in shipped if p.exists()] or [kept_model(run_dir)]
    return TrainResult(run_dir, models, scores, next_command(entry, models[0]), validation)


def own_data_overrides(
    config: str | Path,
    images: str | Path,
    out: str | Path | None,
    overrides: Sequence[str] = (),
    tags: str | Path | None = None,
):
    """``(overrides, view)`` that train WSS on the user's photos in ``images``: the run folder's
    ``data/`` view with its held-out split (:func:`weaksal.api.own_data.own_data_view`)."""
    from weaksal.api.own_data import own_data_view
    from weaksal.methods import method_config

    path = method_config(config)
    method = resolved_training_config(path, list(overrides))["method"]
    if method != "wss":
        raise ConfigError(
            path,
            f"is a {method} config; your own photos (images=) train WSS from their tags",
            f"set {method}'s data keys (weaksal train --help lists them)",
        )
    run_dir = Path(out) if out is not None else Path("runs") / path.stem
    view = own_data_view(images, run_dir, tags)
    split = "val" if view.val else "null"
    return [
        *overrides,
        f"data.train={view.root}",
        "data.train_split=train",
        f"data.val_split={split}",
        "evaluate=[]",
    ], view


def next_command(entry, model: Path) -> str:
    """The command that uses a method's trained model, with IMAGES / MAPS / PROMOTED for
    the user's folders: a promoter (LPS) promotes other detectors' maps, every other
    model predicts from images."""
    roles = [item.role for item in entry.shipped.values()]
    if roles and roles[0] == "promote":
        return f"weaksal promote --model {model} --images IMAGES --prior MAPS --out PROMOTED"
    return f"weaksal predict IMAGES --model {model} --out MAPS"
