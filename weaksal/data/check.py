"""``weaksal data check``: decode every file of a dataset and report its health.

Nothing is dropped silently: every unpaired, unreadable or mismatched file is
listed by name, and :attr:`CheckReport.ok` is False when any exists.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from weaksal.data.discover import open_dataset
from weaksal.data.imageio import _open, mask_from_pil
from weaksal.data.kinds import file_kinds, label_counts
from weaksal.data.layouts import DatasetIndex, Sample, files_by_stem
from weaksal.data.pairs import check_map_shape, size_problem
from weaksal.plumbing.errors import DataError, SizeMismatchError
from weaksal.plumbing.parallel import worker_pool


@dataclass
class CheckReport:
    root: Path
    layout: str
    counts: dict[str, int]
    unpaired: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    size_mismatches: list[tuple[str, str]] = field(default_factory=list)
    mask_values: dict[str, int] = field(default_factory=dict)
    mean_foreground: float | None = None
    unused: list[tuple[str, str]] = field(default_factory=list)  # entries no sample reads
    warnings: list[str] = field(default_factory=list)
    untagged: list[tuple[str, str]] = field(default_factory=list)  # a tagged set's untagged images
    tag_rows_without_image: list[tuple[str, str]] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Unpaired, unreadable and mismatched files, unused entries that are not hidden, and
        labels that went missing (untagged images of a tagged set, tag rows without an image)."""
        dropped = [path for path, _ in self.unused if not Path(path).name.startswith(".")]
        missing_labels = len(self.untagged) + len(self.tag_rows_without_image)
        files = len(self.unpaired) + len(self.unreadable) + len(self.size_mismatches)
        return files + len(dropped) + missing_labels

    @property
    def ok(self) -> bool:
        return self.problems == 0


def _inspect(sample: Sample, kinds: Sequence[str] = ("image", "mask")) -> dict:
    """Decode one sample's files of ``kinds``; returns sizes, mask value kind and errors."""
    result: dict = {"stem": sample.stem, "errors": [], "sizes": {}}
    for kind in kinds:
        path = sample.file(kind)
        if path is None:
            continue
        try:
            image = _open(path)
        except DataError as exc:
            result["errors"].append((str(path), f"{exc.problem}"))
            continue
        result["sizes"][kind] = (image.height, image.width, str(path))
        if kind == "mask" and result.get("is_label_map") is None:
            grey = mask_from_pil(image)  # the mask as read for training and scoring
            values = np.unique(grey)
            if set(values.tolist()) <= {0, 255}:
                result["mask_kind"] = "0/255"
            elif set(values.tolist()) <= {0, 1}:
                result["mask_kind"] = "0/1"
            else:
                result["mask_kind"] = "grey"
            binary = grey > (0 if result["mask_kind"] == "0/1" else 128)
            result["foreground"] = float(binary.mean())
    return result


def _size_problems(result: dict) -> list[tuple[str, str]]:
    sizes = result["sizes"]
    if "image" not in sizes:
        return []
    image = sizes["image"][:2]
    found = []
    for kind in sizes:
        if kind == "image" or sizes[kind][:2] == image:
            continue
        if kind != "mask":  # depth maps and initial labels may be scaled copies of the image
            try:
                check_map_shape(Path(sizes[kind][2]), sizes[kind][:2], image, kind)
                continue
            except SizeMismatchError:
                pass
        found.append((sizes[kind][2], size_problem(kind, sizes[kind][:2], image)))
    return found


def check_dataset(
    root: str | Path, workers: int | None = None, split: str | None = None
) -> CheckReport:
    """Index ``root`` leniently, decode every file, and collect every problem."""
    root = Path(root)
    index: DatasetIndex = open_dataset(root, on_bad="skip", split=split)
    counts = {
        "images": len(files_by_stem(index.image_dir)) if index.image_dir else 0,
        "masks": len(files_by_stem(index.mask_dir)) if index.mask_dir else 0,
        **label_counts(index),  # each label kind's lines (tags, captions, depth files...)
        "complete samples": len(index),
    }
    if index.layout == "coco":
        counts["images"] = len(index) + sum(1 for s in index.skipped if "image has no" in s.reason)
    report = CheckReport(root, index.layout, counts)
    report.unpaired = [(str(s.path), s.reason) for s in index.skipped]
    _check_tags(index, report)
    report.unused = [(str(s.path), s.reason) for s in index.unused()]
    workers = workers or min(4, os.cpu_count() or 1)
    samples = list(index)
    if index.layout == "voc":  # label maps are class indices, not saliency masks
        samples = [Sample(s.stem, s.image) for s in samples]
    inspect = partial(_inspect, kinds=("image", "mask", *file_kinds()))
    if workers > 1 and len(samples) > 50:
        with worker_pool(workers) as pool:
            results = list(pool.map(inspect, samples, chunksize=32))
    else:
        results = [inspect(s) for s in samples]
    kinds: Counter[str] = Counter()
    foreground = []
    for result in results:
        report.unreadable.extend(result["errors"])
        report.size_mismatches.extend(_size_problems(result))
        if "mask_kind" in result:
            kinds[result["mask_kind"]] += 1
            foreground.append(result["foreground"])
    report.mask_values = dict(kinds)
    if foreground:
        report.mean_foreground = float(np.mean(foreground))
        empty = sum(1 for f in foreground if f == 0)
        if empty:
            report.warnings.append(f"{empty} masks have no foreground pixel (> 128)")
    if kinds.get("0/1"):
        report.warnings.append(f"{kinds['0/1']} masks are stored 0/1; they are read as 0/255")
    return report


def _check_tags(index: DatasetIndex, report: CheckReport) -> None:
    """A set whose images are tagged must tag every one: an untagged image would train as
    "no class present". Rows of ``tags.csv`` for images the set lacks are named too, and tags
    that differ only in case (read as one class) are a warning."""
    from weaksal.data.annotations import read_tags_csv, tag_case_variants

    tagged = [s for s in index if s.label("tags")]
    if not tagged:
        return
    tag_file = index.root / "tags.csv"
    for sample in index:
        if not sample.label("tags"):
            where = f"no tags in {tag_file}" if tag_file.is_file() else "no tags"
            report.untagged.append((str(sample.image), where))
    if not tag_file.is_file():
        return
    raw = read_tags_csv(tag_file, merge_case=False)
    images = set(files_by_stem(index.image_dir)) if index.image_dir else {s.stem for s in index}
    for stem in sorted(set(raw) - images):
        report.tag_rows_without_image.append((str(tag_file), f"row for {stem!r}, no such image"))
    for key, group in tag_case_variants(raw).items():
        report.warnings.append(
            f"{tag_file}: tags {', '.join(group)} differ only in case: read as one class {key!r}"
        )
