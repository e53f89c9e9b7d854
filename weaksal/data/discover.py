"""One entry point that recognises any supported dataset folder.

``open_dataset(root)`` tries, in order: CapS (JSM's training set), saliency layouts (DUTS, RGB-D, ECSSD,
SOD, generic), PASCAL VOC, COCO, then a plain folder of images; the labels
of every registered kind found beside the data (``tags.csv``, CapS's
``caption/CapS.csv`` or ``captions*.csv``, synset file names; see
:mod:`weaksal.data.kinds`) are attached to the samples.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from weaksal.data.coco import coco_splits, index_coco
from weaksal.data.kinds import KINDS, attach_labels
from weaksal.data.layouts import (
    CAPS_LAYOUT,
    SALIENCY_LAYOUTS,
    DatasetIndex,
    Layout,
    OnBad,
    index_caps,
    index_images,
    index_saliency,
    match_caps_layout,
    match_saliency_layout,
)
from weaksal.data.voc import index_voc
from weaksal.plumbing.errors import CorruptFileError, LayoutError


def _layout_row(layout: Layout) -> tuple[str, str, str]:
    dirs = [layout.image_dirs, layout.mask_dirs, *(KINDS.get(k).dirs for k in layout.labels)]
    return layout.name, " + ".join("|".join(names) for names in dirs if names), layout.description


#: (name, folders, description) of every layout, then of every label kind
#: (``tags (label)``: attached to the samples of a layout), for ``weaksal data info``.
LAYOUT_TABLE: list[tuple[str, str, str]] = [
    *(_layout_row(layout) for layout in (CAPS_LAYOUT, *SALIENCY_LAYOUTS)),
    (
        "voc",
        "JPEGImages + SegmentationClass[Aug] + ImageSets/Segmentation/*.txt",
        "PASCAL VOC semantic segmentation (class-index PNGs, 255 = ignore)",
    ),
    (
        "coco",
        "<split>/ + annotations/{captions,instances}_<split>.json",
        "COCO images with captions and instance categories",
    ),
    ("images", "a folder of images (or images|Imgs|Image inside it)", "unlabelled images"),
    *((f"{kind.name} (label)", kind.folders, kind.about) for kind in KINDS.entries()),
]


def detect_layout(root: str | Path) -> str:
    """Name of the layout of ``root`` (see ``LAYOUT_TABLE``); raises LayoutError if none fits."""
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(root, "is not a folder", "point at the dataset's root folder")
    if match_caps_layout(root) is not None:
        return "caps"
    match = match_saliency_layout(root)
    if match is not None:
        return match.layout.name
    if (root / "JPEGImages").is_dir():
        return "voc"
    if coco_splits(root):
        return "coco"
    index_images(root)  # raises LayoutError when there are no images either
    return "images"


def open_dataset(
    root: str | Path, on_bad: OnBad = "error", split: str | None = None
) -> DatasetIndex:
    """Index the dataset at ``root`` in whatever supported layout it has."""
    root = Path(root)
    layout = detect_layout(root)
    if layout == "voc":
        index = index_voc(root, split)
    elif layout == "coco":
        index = index_coco(root, [split] if split else None, on_bad=on_bad)
    elif layout == "images":  # a split names images too: never train on the held-out ones
        index = index_images(root)
        if split is not None:
            index = select_split(index, root / SPLIT_FILE, split)
    elif layout == "caps":
        index = index_caps(root, on_bad=on_bad)
        if split is not None:
            index = select_split(index, root / SPLIT_FILE, split)
    else:
        index = index_saliency(root, on_bad=on_bad)
        if split is not None:
            index = select_split(index, root / SPLIT_FILE, split)
    return attach_labels(index)


SPLIT_FILE = "split.csv"


def read_split_file(path: str | Path) -> dict[str, str]:
    """``image,split`` rows (header optional) as ``{stem: split}``."""
    import csv

    path = Path(path)
    if not path.is_file():
        raise LayoutError(path, "no split file", "write an image,split CSV (e.g. train/val rows)")
    splits: dict[str, str] = {}
    with open(path, newline="") as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if not row or (row_number == 1 and row[0].strip().lower() in ("image", "stem", "name")):
                continue
            if len(row) < 2:
                raise CorruptFileError(
                    path, f"row {row_number} has no split column", "write image,split"
                )
            splits[Path(row[0].strip()).stem] = row[1].strip()
    return splits


def select_split(index: DatasetIndex, split_file: str | Path, split: str) -> DatasetIndex:
    """Keep the samples that ``split_file`` assigns to ``split``; unknown splits are an error."""
    splits = read_split_file(split_file)
    names = sorted(set(splits.values()))
    if split not in names:
        raise LayoutError(
            split_file, f"has no split {split!r} (it has {names})", "pick one of those"
        )
    kept = [sample for sample in index.samples if splits.get(sample.stem) == split]
    return dataclasses.replace(index, samples=kept)
