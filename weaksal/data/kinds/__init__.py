"""Supervision kinds: every label a sample carries besides its mask, one module per kind.

A :class:`~weaksal.data.layouts.Sample` holds what every sample has (``stem``,
``image``, and ``mask``, the saliency ground truth or pseudo-label that
training and evaluation read everywhere) and a mapping ``labels`` of the rest,
keyed by kind: ``sample.label("tags")`` is a sample's tags, or the kind's
empty value ``()`` where it has none. Each kind registers itself in
:data:`KINDS` from its own module of this package, so that adding a kind
touches no shared file: :func:`~weaksal.data.discover.open_dataset` asks every
kind for its labels, ``weaksal data info`` lists it and ``weaksal data check``
counts it.

Two sorts of kind
-----------------
*Found beside the data* (``tags``, ``caps``, ``captions``, ``categories``):
the reader looks for its files under ``index.root`` (``tags.csv``,
``caption/*.csv``) and returns ``{stem: value}``; ``open_dataset`` attaches
the values to the samples of any layout, and a sample whose stem it does not
name reads the empty value.

*Paired by a layout* (``depth``, ``prior``): the labels are image files in a
folder beside the images, whose possible names the kind registers as
``dirs``. A layout that needs them names the kind in ``Layout.labels``
(:mod:`weaksal.data.layouts`); it finds the folder by those names, records it
in ``index.label_dirs`` and pairs the reader's files by stem, so an image
without its depth map is an unpaired file, as one without its mask is.
``weaksal data check`` decodes these files and compares their size with the
image's.

Adding a kind
-------------
Write one module, ``weaksal/data/kinds/<name>.py``::

    from weaksal.data.kinds import label_kind

    @label_kind(
        "points",
        empty=(),
        folders="points.csv beside the data: image,x,y",
        about="clicked object points, attached to any layout",
    )
    def read_points(index):
        path = index.root / "points.csv"
        return read_points_csv(path) if path.is_file() else {}

and read it where it is used: ``sample.label("points")``. Nothing else
changes: the package's modules are imported the first time a kind is asked
for (``Registry(discover=...)``), so ``open_dataset`` attaches the new labels,
``weaksal data info`` shows the ``folders``/``about`` line and ``weaksal data
check`` counts the images that have one (pass ``counts=`` for other lines).
A paired kind also passes ``dirs=(...)`` and returns :func:`paired_files`
from its reader; the layout that pairs it names it in ``Layout.labels``,
which is the code that uses it.

Rules every kind keeps: values are plain, picklable data (samples travel to
worker processes); the empty value, and only it, is falsy (``()``, ``None``),
because "has a label" is tested by truth (``if sample.label("tags")``); a
label the layout set itself (COCO's captions, read with its images) wins over
the reader's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weaksal.data.imageio import files_by_stem
from weaksal.plumbing.registry import Registry

if TYPE_CHECKING:
    from weaksal.data.layouts import DatasetIndex, Sample

#: Every label kind by name; the modules of this package fill it when first asked.
KINDS = Registry("label kind", discover="weaksal.data.kinds")

Reader = Callable[["DatasetIndex"], Mapping[str, Any]]
Counts = Callable[["DatasetIndex"], dict[str, int]]


def label_kind(
    name: str,
    *,
    empty: Any,
    folders: str,
    about: str,
    dirs: Iterable[str] = (),
    counts: Counts | None = None,
) -> Callable[[Reader], Reader]:
    """Decorator: register the decorated reader ``index -> {stem: value}`` as kind ``name``.

    Parameters
    ----------
    empty
        What :meth:`Sample.label` returns for a sample without this label; falsy.
    folders, about
        The kind's line of ``weaksal data info``: where its labels are found, and what they are.
    dirs
        Folder names (matched case-insensitively) of a kind that layouts pair by stem;
        empty for kinds found beside the data.
    counts
        ``index -> {line: number}`` for ``weaksal data check``; by default the number
        of images that have the label.
    """
    if empty:
        raise ValueError(f"label kind {name!r}: the empty value must be falsy, not {empty!r}")
    return KINDS.register(
        name, empty=empty, folders=folders, about=about, dirs=tuple(dirs), counts=counts
    )


def paired_files(index: DatasetIndex, kind: str) -> dict[str, Path]:
    """The image files, by stem, of the folder a layout found for ``kind`` (none if it found none)."""
    folder = index.label_dirs.get(kind)
    return files_by_stem(folder) if folder is not None else {}


def file_kinds() -> list[str]:
    """The kinds whose labels are image files paired by a layout (decoded and size-checked)."""
    return [entry.name for entry in KINDS.entries() if entry.dirs]


def label_counts(index: DatasetIndex) -> dict[str, int]:
    """Every kind's lines of ``weaksal data check``, in kind order."""
    counts: dict[str, int] = {}
    for entry in KINDS.entries():
        if entry.counts is not None:
            counts.update(entry.counts(index))
        else:
            counts[f"images with {entry.name}"] = sum(1 for s in index if s.label(entry.name))
    return counts


def attach_labels(index: DatasetIndex) -> DatasetIndex:
    """``index`` with every kind's labels found for it on its samples.

    Kinds the layout paired are on the samples already (``index.label_dirs``);
    a label a sample already has is kept.
    """
    found = {
        entry.name: entry.target(index)
        for entry in KINDS.entries()
        if entry.name not in index.label_dirs
    }
    found = {kind: values for kind, values in found.items() if values}
    if found:
        index.samples = [_with_found(sample, found) for sample in index.samples]
    return index


def _with_found(sample: Sample, found: dict[str, Mapping[str, Any]]) -> Sample:
    labels = dict(sample.labels)
    for kind, values in found.items():
        if not labels.get(kind) and values.get(sample.stem):
            labels[kind] = values[sample.stem]
    return dataclasses.replace(sample, labels=labels)
