"""The table of training methods: every method registers the same protocol from its own module.

A method is ``train(config, run_dir, resume) -> summary`` plus what the rest
of the toolkit needs to know without reading its code: the typed sections of
its config (:mod:`weaksal.engine.schema`), which files of a finished run are
shipped and in which role (``weaksal.pretrained`` writes them into the
shipped folder's manifest), and the rows of its paper's ablation table (each
row the mean map of some model files of a run).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weaksal.plumbing.registry import Registry

METHODS = Registry("method", discover="weaksal.methods")

#: what a shipped file is for: the CLI command that uses it
ROLES = {
    "saliency": "weaksal predict",
    "promote": "weaksal promote",
    "caption": "weaksal caption",
}


@dataclass(frozen=True)
class Shipped:
    """A file of a finished run that ships with a model, and its role (one of :data:`ROLES`)."""

    source: str  # path inside the run folder
    role: str


def register_method(
    name: str,
    *,
    train: Callable[[dict, Path, bool], dict],
    sections: Mapping[str, type],
    shipped: Mapping[str, Shipped],
    table_rows: Mapping[str, Sequence[str]] | None = None,
    about: str,
    supervision: str,
    limitations: str,
    default_config: str,
) -> None:
    """Register method ``name``; ``shipped`` maps a file name in the shipped folder to its source.

    ``supervision`` (what the method reads to learn) and ``limitations`` (what
    its models cannot do, as measured) go into the model cards of its shipped
    models (:mod:`weaksal.methods.cards`); ``default_config`` (a path under
    ``weaksal/configs``) is what ``weaksal train --config NAME`` trains.
    """
    for file, entry in shipped.items():
        if entry.role not in ROLES:
            raise ValueError(f"{name}: {file} has role {entry.role!r}; roles: {sorted(ROLES)}")
    METHODS.add(
        name,
        train,
        sections=dict(sections),
        shipped=dict(shipped),
        table_rows={row: list(files) for row, files in (table_rows or {}).items()},
        about=about,
        supervision=supervision,
        limitations=limitations,
        default_config=default_config,
    )


def method_config(name: str | Path) -> Path:
    """A config file from a path, a shipped config's name, or a method's name (its
    ``default_config``): what ``weaksal train --config`` accepts."""
    from weaksal.engine.config import find_config

    return find_config(name, {method: METHODS.get(method).default_config for method in METHODS})


def resolved_training_config(config: str | Path, overrides: Sequence[str] = ()) -> dict:
    """The complete config that ``weaksal train --config CONFIG OVERRIDES...`` trains.

    Parameters
    ----------
    config
        What ``--config`` accepts: a YAML file, a shipped config's name
        (``wss/wss_fpn_efficientnet_lite0``) or a method's name (its default config).
    overrides
        ``key.sub=value`` (and ``+key=value``) arguments, applied after the ``base`` chain.

    Returns
    -------
    dict
        Every key of the config's method sections, a key the YAML leaves out holding the
        default written in its dataclass (:func:`weaksal.engine.schema.resolve_config`):
        what the run folder's ``config.yaml`` records, and what ``--print-config`` prints.

    Raises
    ------
    ConfigError
        For an unknown config, key or method, or a value of the wrong type or range.
    """
    from weaksal.engine.config import load_config
    from weaksal.engine.schema import resolve_config
    from weaksal.plumbing.errors import ConfigError

    path = method_config(config)
    method = load_config(path).get("method")
    if method is None:
        raise ConfigError(path, "names no method", "write 'method: NAME' in it or its base")
    if method not in METHODS:
        raise ConfigError(
            path, f"names an unknown method {method!r}", f"one of {', '.join(METHODS)}"
        )
    sections = METHODS.get(method).sections
    return resolve_config(load_config(path, overrides, sections), sections, str(path))


def get_method(name: str) -> Any:
    """The registered entry of method ``name`` (``.target`` is its ``train``)."""
    return METHODS.get(name)


def table_models(run_dir: str | Path, method: str) -> dict[str, Any]:
    """The ablation rows of ``method`` this run trained, each as one saliency model."""
    from weaksal.models import MapAverage, load_model

    run_dir = Path(run_dir)
    rows: dict[str, Any] = {}
    for row, files in get_method(method).table_rows.items():
        if all((run_dir / f).exists() for f in files):
            networks = [load_model(run_dir / f)[0] for f in files]
            rows[row] = networks[0] if len(networks) == 1 else MapAverage(networks).eval()
    return rows
