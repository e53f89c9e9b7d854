"""COCO layout: ``<split>2017/`` image folders and ``annotations/{captions,instances}_<split>.json``."""

from __future__ import annotations

from pathlib import Path

from weaksal.data.annotations import read_coco_captions, read_coco_categories
from weaksal.data.layouts import DatasetIndex, OnBad, Sample, SkippedFile, files_by_stem
from weaksal.plumbing.errors import LayoutError, UnpairedFileError


def coco_splits(root: str | Path) -> list[str]:
    """Split names that have both an image folder and an annotation file."""
    root = Path(root)
    annotations = root / "annotations"
    if not annotations.is_dir():
        return []
    splits = set()
    for path in annotations.glob("*_*.json"):
        kind, _, split = path.stem.partition("_")
        if kind in ("captions", "instances") and (root / split).is_dir():
            splits.add(split)
    return sorted(splits)


def index_coco(
    root: str | Path, splits: list[str] | None = None, on_bad: OnBad = "error"
) -> DatasetIndex:
    """Index COCO images with their captions and instance categories."""
    root = Path(root)
    splits = splits or coco_splits(root)
    if not splits:
        raise LayoutError(
            root,
            "is not a COCO tree (annotations/*_<split>.json + <split>/ images)",
            "point at the folder holding annotations/ and the image folders",
        )
    samples: list[Sample] = []
    skipped: list[SkippedFile] = []
    for split in splits:
        captions_file = root / "annotations" / f"captions_{split}.json"
        instances_file = root / "annotations" / f"instances_{split}.json"
        captions = read_coco_captions(captions_file) if captions_file.is_file() else {}
        categories = read_coco_categories(instances_file) if instances_file.is_file() else {}
        images = files_by_stem(root / split)
        annotated = set(captions) | set(categories)
        for stem in sorted(annotated - set(images)):
            skipped.append(
                SkippedFile(root / split / f"{stem}.jpg", "annotated but the image file is missing")
            )
        for stem in sorted(set(images) - annotated):
            skipped.append(SkippedFile(images[stem], "image has no caption or instance annotation"))
        for stem in sorted(annotated & set(images)):
            samples.append(
                Sample(
                    stem,
                    images[stem],
                    labels={
                        "captions": captions.get(stem, ()),
                        "categories": categories.get(stem, ()),
                    },
                )
            )
    if skipped and on_bad == "error":
        raise UnpairedFileError(
            skipped[0].path,
            skipped[0].reason + f" ({len(skipped)} such files in all)",
            "restore the file or the annotation, or pass on_bad='skip' to leave it out (it is then reported)",
        )
    return DatasetIndex(root, "coco", samples, skipped)
