"""Datasets named in a config: a path relative to the data root, optionally one split of it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from weaksal.data.discover import open_dataset
from weaksal.data.layouts import Sample
from weaksal.plumbing.paths import data_root


def dataset_path(name: str | Path) -> Path:
    """A dataset named in a config: absolute, or relative to the data root (``WEAKSAL_DATA``)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else data_root() / path


def local_or_data_path(name: str | Path) -> Path:
    """A folder named in a config that may be derived data (``runs/duts-seg``) or shared data:
    as given when it exists from the working folder, else under the data root."""
    given = Path(name).expanduser()
    return given if given.exists() else dataset_path(given)


def split_samples(name: str | Path, split: str | None) -> list[Sample]:
    """The samples of dataset ``name`` (one ``split`` of it, or all when None); ``name`` is
    derived data such as ``runs/smoke-data`` when it exists from the working folder, else
    under the data root."""
    return open_dataset(local_or_data_path(name), split=split).samples


def source_samples(entry: Mapping[str, Any] | str | None) -> list[Sample]:
    """Samples of one configured source: ``{dataset: NAME, split: SPLIT}``, a name, or none."""
    if not entry:
        return []
    if isinstance(entry, str):
        entry = {"dataset": entry}
    return split_samples(entry["dataset"], entry.get("split"))
