"""CapS text (JSM, NeurIPS 2021): each image's rows, and the captions and categories they give.

Three kinds come from the same CSVs (``caption/*.csv`` or ``captions*.csv``
beside the data, CapS's columns): ``caps``, the rows themselves (JSM's TSM
needs the salient word and its slot), ``captions`` (MWS reads captions of any
source) and ``categories``. COCO's captions and categories are read with its
images by :mod:`weaksal.data.coco` and win over these.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from weaksal.data.annotations import (
    CAPS_COLUMNS,
    CapsEntry,
    caps_captions,
    caps_categories,
    read_caps_csv,
)
from weaksal.data.kinds import label_kind

if TYPE_CHECKING:
    from weaksal.data.layouts import DatasetIndex


def caps_files(root: Path) -> list[Path]:
    """The CapS-style CSVs of a dataset; a later file's rows replace an earlier one's, by stem."""
    return [*sorted(root.glob("captions*.csv")), *sorted(root.glob("caption/*.csv"))]


def caps_rows(index: DatasetIndex) -> dict[str, tuple[CapsEntry, ...]]:
    """Every CapS row of the dataset, by image stem."""
    files = tuple(
        (path, path.stat().st_mtime_ns, path.stat().st_size) for path in caps_files(index.root)
    )
    return _read_caps(files)


@lru_cache(maxsize=4)
def _read_caps(files: tuple[tuple[Path, int, int], ...]) -> dict[str, tuple[CapsEntry, ...]]:
    """The rows of ``files``, cached by path, modification time and size.

    The three kinds of this module read the same files, so the files are
    parsed once per dataset, and again only when one of them changes.
    """
    rows: dict[str, tuple[CapsEntry, ...]] = {}
    for path, _, _ in files:
        rows.update(read_caps_csv(path))
    return rows


@label_kind(
    "caps",
    empty=(),
    folders="caption/CapS.csv or captions*.csv with columns " + ",".join(CAPS_COLUMNS),
    about="CapS rows (caption, salient word and its slot, category), attached to any layout",
    counts=lambda index: {
        "images with a salient word (CapS)": sum(1 for s in index if s.label("caps"))
    },
)
def read_caps(index: DatasetIndex) -> dict[str, tuple[CapsEntry, ...]]:
    return dict(caps_rows(index))


@label_kind(
    "captions",
    empty=(),
    folders="the Caption column of the CapS files (COCO: annotations/captions_<split>.json)",
    about="captions, attached to any layout",
    counts=lambda index: {
        "captioned images": sum(1 for s in index if s.label("captions")),
        "captions": sum(len(s.label("captions")) for s in index),
    },
)
def read_captions(index: DatasetIndex) -> dict[str, tuple[str, ...]]:
    return {stem: caps_captions(rows) for stem, rows in caps_rows(index).items()}


@label_kind(
    "categories",
    empty=(),
    folders="the Category and SubCategory columns of the CapS files (COCO: instances_<split>.json)",
    about="category names, attached to any layout",
    counts=lambda index: {"images with categories": sum(1 for s in index if s.label("categories"))},
)
def read_categories(index: DatasetIndex) -> dict[str, tuple[str, ...]]:
    return {stem: caps_categories(rows) for stem, rows in caps_rows(index).items()}
