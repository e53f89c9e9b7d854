"""PASCAL VOC segmentation: ``JPEGImages``, ``SegmentationClass[Aug]``, ``ImageSets``.

Label maps are class-index PNGs (palette PNGs whose indices are the classes,
255 = ignore). A label map saved as RGB colours is mapped back through the
VOC colour map, and an unknown colour is an error rather than a guess.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from weaksal.data.imageio import _open
from weaksal.data.layouts import DatasetIndex, Sample, files_by_stem
from weaksal.plumbing.errors import CorruptFileError, LayoutError

VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
IGNORE_INDEX = 255


def voc_colormap(size: int = 256) -> np.ndarray:
    """The standard VOC palette, ``(size, 3) uint8`` (bit-interleaved class index)."""
    colours = np.zeros((size, 3), dtype=np.uint8)
    for index in range(size):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (r, g, b)
    return colours


def read_label_map(path: str | Path) -> np.ndarray:
    """Read a segmentation label map as ``uint8 (H, W)`` class indices (255 = ignore)."""
    path = Path(path)
    image = _open(path)
    if image.mode in ("P", "L"):
        return np.asarray(image, dtype=np.uint8).copy()
    if image.mode in ("RGB", "RGBA"):
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        code = (
            (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
        )
        palette = voc_colormap()
        palette_code = (
            (palette[:, 0].astype(np.int32) << 16)
            | (palette[:, 1].astype(np.int32) << 8)
            | palette[:, 2]
        )
        lookup = {int(c): i for i, c in enumerate(palette_code)}
        labels = np.zeros(code.shape, dtype=np.uint8)
        for colour in np.unique(code):
            if int(colour) not in lookup:
                raise CorruptFileError(
                    path,
                    f"colour #{int(colour):06x} is not in the VOC palette",
                    "save label maps as class-index (palette or greyscale) PNGs",
                )
            labels[code == colour] = lookup[int(colour)]
        return labels
    raise CorruptFileError(
        path, f"unsupported label-map mode {image.mode}", "save as 8-bit index PNG"
    )


def index_voc(root: str | Path, split: str | None = None) -> DatasetIndex:
    """Index a VOC segmentation tree; ``split`` names ``ImageSets/Segmentation/<split>.txt``.

    Without a split, every image that has a label map is taken.
    ``SegmentationClassAug`` is preferred over ``SegmentationClass`` when both exist.
    """
    root = Path(root)
    image_dir = root / "JPEGImages"
    label_dir = next(
        (root / n for n in ("SegmentationClassAug", "SegmentationClass") if (root / n).is_dir()),
        None,
    )
    if not image_dir.is_dir() or label_dir is None:
        raise LayoutError(
            root,
            "is not a VOC tree (JPEGImages + SegmentationClass[Aug])",
            "point at the VOC2012 folder",
        )
    images = files_by_stem(image_dir)
    labels = files_by_stem(label_dir)
    if split is None:
        ids = sorted(set(images) & set(labels))
    else:
        list_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not list_file.is_file():
            raise LayoutError(
                list_file,
                "split list not found",
                "choose a split from ImageSets/Segmentation (train, val, trainval...)",
            )
        ids = [line.split()[0] for line in list_file.read_text().splitlines() if line.strip()]
        missing = [i for i in ids if i not in images or i not in labels]
        if missing:
            where = (
                images.get(missing[0]) or labels.get(missing[0]) or image_dir / f"{missing[0]}.jpg"
            )
            raise CorruptFileError(
                where,
                f"listed in {list_file.name} but its image or label map is missing"
                f" ({len(missing)} ids in all)",
                "restore the files or use the matching split list",
            )
    samples = [Sample(i, images[i], mask=labels[i]) for i in ids]
    return DatasetIndex(root, "voc", samples, image_dir=image_dir, mask_dir=label_dir)


def voc_class_names(root: str | Path) -> list[str]:
    """The label names of a VOC-layout tree, index 0 the background.

    ``classes.txt`` (``index name`` lines, as ``weaksal data make-seg``
    writes) when the tree has one, else the 21 PASCAL VOC names.
    """
    listing = Path(root) / "classes.txt"
    if not listing.is_file():
        return list(VOC_CLASSES)
    names: dict[int, str] = {}
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        index, _, name = line.strip().partition(" ")
        if not index.isdigit() or not name.strip():
            raise CorruptFileError(listing, f"line {number} is not 'index name'", "fix the line")
        names[int(index)] = name.strip()
    if sorted(names) != list(range(len(names))) or len(names) < 2:
        raise CorruptFileError(
            listing, "indices are not 0..C without gaps", "number the labels 0, 1, 2, ..."
        )
    return [names[i] for i in range(len(names))]


def with_image_labels(samples: list[Sample], names: list[str]) -> list[Sample]:
    """Samples whose ``tags`` label is their image-level class names.

    Tags already attached (a ``tags.csv``, as ``make-seg`` writes) are kept,
    so that the classification half of a derived benchmark never reads a
    label map. Without them the labels are the classes present in each label
    map, which is how the VOC convention (and SSNet's code) defines them.
    """
    known = set(names[1:])
    labelled = []
    for sample in samples:
        tags = tuple(t for t in sample.label("tags") if t in known)
        if not tags:
            present = np.unique(read_label_map(sample.mask))
            present = present[(present > 0) & (present < len(names))]
            tags = tuple(names[int(i)] for i in present)
        labelled.append(sample.with_labels(tags=tags))
    return labelled
