"""A small, fixed subset of a tagged saliency dataset: the data of a smoke run.

``weaksal data subset DUTS-TR-50 --out runs/smoke-data`` keeps, for the
first ``classes`` tag classes (sorted), the first ``train`` training and
``val`` validation images of each (sorted stems, by ``split.csv``), as
symbolic links in the source's own layout, with ``tags.csv`` and
``split.csv`` cut to them. Every method reads it as it reads the full set, so
``configs/smoke/*.yaml`` run the real pipelines in a few minutes. Nothing is
copied and the same arguments always pick the same images.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from pathlib import Path

from weaksal.data.discover import SPLIT_FILE, open_dataset, read_split_file
from weaksal.plumbing.atomic import write_text
from weaksal.plumbing.errors import LayoutError

TAGS_FILE = "tags.csv"


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, text.getvalue())


def make_subset(
    source: str | Path, out: str | Path, classes: int = 4, train: int = 8, val: int = 2
) -> dict[str, int]:
    """Write the subset; returns the number of images per split."""
    source, out = Path(source), Path(out)
    for needed in (TAGS_FILE, SPLIT_FILE):
        if not (source / needed).is_file():
            raise LayoutError(
                source / needed, "is missing", "subset a tagged dataset with split.csv (DUTS-TR-50)"
            )
    index = open_dataset(source)
    samples = index.by_stem()
    splits = read_split_file(source / SPLIT_FILE)
    tag_header, tag_rows = _rows(source / TAGS_FILE)
    by_class: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in tag_rows:
        stem = row[tag_header[0]]
        if stem in samples and stem in splits:
            by_class[row["tag"]][splits[stem]].append(stem)
    kept: dict[str, str] = {}
    for tag in sorted(by_class)[:classes]:
        for split, count in (("train", train), ("val", val)):
            for stem in sorted(by_class[tag][split])[:count]:
                kept[stem] = split
    for stem in kept:
        sample = samples[stem]
        for path in (sample.image, sample.mask):
            if path is None:
                continue
            link = out / path.parent.name / path.name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                os.symlink(path.resolve(), link)
    _write_rows(out / TAGS_FILE, tag_header, [r for r in tag_rows if r[tag_header[0]] in kept])
    _write_rows(
        out / SPLIT_FILE,
        ["image", "split"],
        [{"image": stem, "split": split} for stem, split in sorted(kept.items())],
    )
    return {split: sum(1 for s in kept.values() if s == split) for split in ("train", "val")}
