"""A semantic segmentation benchmark derived from a tagged saliency dataset (for SSNet, issue 16).

PASCAL VOC cannot be had on these machines; DUTS-TR-50 can, and each of its
images carries one ImageNet class tag and a pixel-exact mask of its salient
object. So the semantic ground truth is **the tag's class on the mask
(grey > 128) and background elsewhere**: 1 + C labels (51 for DUTS-TR-50).
The result is written in VOC layout, so the VOC loader and ``weaksal eval
--seg`` read it like the real thing:

    OUT/JPEGImages/<stem>.jpg              symbolic links to the source images
    OUT/SegmentationClass/<stem>.png       palette PNGs of class indices
    OUT/ImageSets/Segmentation/*.txt       train, train_saliency, train_classification, val
    OUT/classes.txt                        index and name of every label (0: background)
    OUT/tags.csv                           each image's class: the classification half's only label
    OUT/made_by.json                       source, rule and counts

SSNet learns from two disjoint sets: images with saliency masks (no class)
and images with class labels (no mask). The ``train`` rows of ``split.csv``
are split into those two halves by a fixed rule: within each class, in
sorted stem order, even positions go to ``train_saliency`` and odd ones to
``train_classification``, so both halves hold every class in equal parts. The
``val`` rows are the evaluation set. Re-running the command skips finished
label maps, so an interrupted run resumes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from weaksal.data.discover import SPLIT_FILE, open_dataset, read_split_file
from weaksal.data.imageio import binarize, read_mask
from weaksal.data.pairs import aligned_samples
from weaksal.data.voc import voc_colormap
from weaksal.plumbing.atomic import write_json, write_palette_png, write_text
from weaksal.plumbing.batch import Job, run_batch
from weaksal.plumbing.errors import DataError, LayoutError

HALVES = ("train_saliency", "train_classification")


def write_label_map(mask_path: Path, class_index: int, output: Path) -> None:
    """One label map: ``class_index`` where the mask is foreground, 0 elsewhere."""
    labels = np.where(binarize(read_mask(mask_path)), class_index, 0).astype(np.uint8)
    write_palette_png(output, labels, voc_colormap())


def split_in_halves(stems_by_class: dict[str, list[str]]) -> dict[str, list[str]]:
    """The fixed rule: per class, sorted stems alternate saliency, classification, ..."""
    halves: dict[str, list[str]] = {half: [] for half in HALVES}
    for name in sorted(stems_by_class):
        for position, stem in enumerate(sorted(stems_by_class[name])):
            halves[HALVES[position % 2]].append(stem)
    return {half: sorted(stems) for half, stems in halves.items()}


def make_segmentation_dataset(
    source: str | Path, out: str | Path, workers: int | None = None, progress=None
) -> dict[str, Any]:
    """Write the VOC-layout benchmark of ``source`` (images, masks, ``tags.csv``, ``split.csv``)."""
    source, out = Path(source), Path(out)
    index = open_dataset(source)
    samples = [s for s in index if s.mask is not None]
    untagged = [s for s in samples if len(s.label("tags")) != 1]
    if untagged:
        bad = untagged[0]
        raise DataError(
            bad.image,
            f"has {len(bad.label('tags'))} tags; the derived benchmark needs exactly one class per image"
            f" ({len(untagged)} such images)",
            "give every image one tag in tags.csv",
        )
    samples, _ = aligned_samples(samples, ("mask",))  # a mask of another size is refused
    tag = {s.stem: s.label("tags")[0] for s in samples}  # each image's one class
    splits = read_split_file(source / SPLIT_FILE)
    names = sorted(set(tag.values()))
    class_index = {name: i + 1 for i, name in enumerate(names)}
    if len(names) + 1 > 255:
        raise LayoutError(source, f"has {len(names)} classes", "at most 254 fit an 8-bit label map")
    by_split: dict[str, list[str]] = defaultdict(list)
    train_by_class: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        split = splits.get(sample.stem)
        if split is None:
            continue
        by_split[split].append(sample.stem)
        if split == "train":
            train_by_class[tag[sample.stem]].append(sample.stem)
    if "train" not in by_split or "val" not in by_split:
        raise LayoutError(source / SPLIT_FILE, "needs train and val rows", "write image,split rows")
    lists = {"train": sorted(by_split["train"]), "val": sorted(by_split["val"])}
    lists.update(split_in_halves(train_by_class))

    images = out / "JPEGImages"
    images.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        link = images / f"{sample.stem}{sample.image.suffix.lower()}"
        if not link.is_symlink() and not link.exists():
            os.symlink(sample.image.resolve(), link)
    jobs = [
        Job(s.stem, out / "SegmentationClass" / f"{s.stem}.png", (s.mask, class_index[tag[s.stem]]))
        for s in samples
    ]
    report = run_batch(write_label_map, jobs, workers or 1, progress)
    if report.failed:
        name, message = report.failed[0]
        raise DataError(
            source,
            f"{len(report.failed)} label maps failed, first {name}: {message}",
            "fix the file named",
        )
    for name, stems in lists.items():
        write_text(
            out / "ImageSets" / "Segmentation" / f"{name}.txt", "".join(f"{s}\n" for s in stems)
        )
    # the image-level labels travel as tags, so the classification half never reads a label map
    write_text(
        out / "tags.csv",
        "image,tag\n" + "".join(f"{stem},{tag[stem]}\n" for stem in sorted(tag)),
    )
    write_text(
        out / "classes.txt",
        "0 background\n" + "".join(f"{i} {name}\n" for name, i in class_index.items()),
    )
    summary = {
        "source": str(source.resolve()),
        "rule": "label = tag class where mask > 128, else 0 (background)",
        "halves": "per class, sorted stems alternate train_saliency / train_classification",
        "classes": len(names) + 1,
        "images": len(samples),
        "lists": {name: len(stems) for name, stems in lists.items()},
        "label_maps_written": len(report.done),
    }
    write_json(out / "made_by.json", summary)
    return summary


def read_classes(root: str | Path) -> list[str]:
    """Label names of a derived benchmark (``classes.txt``), index order."""
    path = Path(root) / "classes.txt"
    try:
        rows = [line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise LayoutError(
            path, f"cannot read the class list ({exc})", "run `weaksal data make-seg`"
        ) from None
    return [name for _, name in sorted((int(i), name) for i, name in rows)]
