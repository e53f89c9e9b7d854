"""Dataset layouts as they are really distributed, and pairing by file stem.

A *layout* names the sub-folders that hold images and masks, and the label
kinds it pairs with them (depth maps of RGB-D sets, CapS's initial labels;
each kind's module in :mod:`weaksal.data.kinds` owns its folder names). The
index built from it pairs files by stem (``0001.jpg`` with ``0001.png``) and
never drops a file silently: unpaired files raise
:class:`~weaksal.plumbing.errors.UnpairedFileError`, or with ``on_bad="skip"`` are
listed in :attr:`DatasetIndex.skipped`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from weaksal.data.imageio import IMAGE_SUFFIXES, files_by_stem, is_image_file
from weaksal.data.kinds import KINDS
from weaksal.plumbing.errors import DuplicateStemError, LayoutError, UnpairedFileError

OnBad = Literal["error", "skip"]


@dataclass(frozen=True)
class Layout:
    """Folder names of one dataset layout (matched case-insensitively).

    ``labels`` are the label kinds the layout needs beside its images, found
    by each kind's registered folder names and paired by stem like the masks.
    """

    name: str
    description: str
    image_dirs: tuple[str, ...]
    mask_dirs: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


GENERIC_IMAGE_DIRS = ("images", "Imgs", "Image", "RGB", "test_images", "train_images")
GENERIC_MASK_DIRS = ("masks", "GT", "gt", "Mask", "ground_truth_mask", "test_masks", "train_masks")

#: Saliency layouts, most specific first; ``detect_layout`` takes the first match.
SALIENCY_LAYOUTS: tuple[Layout, ...] = (
    Layout("duts-tr", "DUTS training split", ("DUTS-TR-Image",), ("DUTS-TR-Mask",)),
    Layout("duts-te", "DUTS test split", ("DUTS-TE-Image",), ("DUTS-TE-Mask",)),
    Layout(
        "rgbd",
        "RGB-D saliency (NJU2K, NLPR, STERE, SIP...): images + masks + depth",
        GENERIC_IMAGE_DIRS,
        GENERIC_MASK_DIRS,
        labels=("depth",),
    ),
    Layout("ecssd", "ECSSD", ("images",), ("ground_truth_mask",)),
    Layout("sod", "SOD (BSDS300 photos)", ("images",), ("GT",)),
    Layout(
        "generic",
        "HKU-IS, PASCAL-S, DUT-OMRON and most result archives",
        GENERIC_IMAGE_DIRS,
        GENERIC_MASK_DIRS,
    ),
)


@dataclass(frozen=True)
class Sample:
    """One image, its mask, and every other label paired with it by stem.

    ``labels`` maps a label kind (``"tags"``, ``"depth"``...; one module each
    in :mod:`weaksal.data.kinds`) to the sample's label of that kind, so that
    a new kind of supervision needs no field here. Read one with
    :meth:`label`; treat the mapping as read-only (:meth:`with_labels` copies).
    """

    stem: str
    image: Path
    mask: Path | None = None  # saliency ground truth or pseudo-label (VOC: the class-index map)
    labels: dict[str, Any] = field(default_factory=dict, hash=False)

    def label(self, kind: str) -> Any:
        """The sample's ``kind`` label, or the kind's registered empty value (``()``, None)."""
        if kind in self.labels:
            return self.labels[kind]
        return KINDS.get(kind).empty

    def file(self, kind: str) -> Path | None:
        """The file of ``kind``: ``"image"``, ``"mask"`` or a kind paired by file (``"depth"``)."""
        return getattr(self, kind) if kind in ("image", "mask") else self.label(kind)

    def with_labels(self, **labels: Any) -> Sample:
        """A copy whose labels are this sample's updated with ``labels``."""
        return dataclasses.replace(self, labels={**self.labels, **labels})


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass
class DatasetIndex:
    """The files of one dataset, paired by stem, in sorted stem order."""

    root: Path
    layout: str
    samples: list[Sample]
    skipped: list[SkippedFile] = field(default_factory=list)  # unpaired files
    image_dir: Path | None = None
    mask_dir: Path | None = None
    label_dirs: dict[str, Path] = field(default_factory=dict)  # kind -> the folder paired by stem

    def __len__(self) -> int:
        return len(self.samples)

    def unused(self) -> list[SkippedFile]:
        """Entries of the dataset's folders that no sample uses (see :func:`unused_entries`)."""
        folders = dict.fromkeys(
            f for f in (self.image_dir, self.mask_dir, *self.label_dirs.values()) if f
        )
        return [entry for folder in folders for entry in unused_entries(folder)]

    def __iter__(self):
        return iter(self.samples)

    def stems(self) -> list[str]:
        return [sample.stem for sample in self.samples]

    def by_stem(self) -> dict[str, Sample]:
        return {sample.stem: sample for sample in self.samples}


def _subdirs(root: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}


def _first_dir(subdirs: dict[str, Path], names: Iterable[str]) -> Path | None:
    for name in names:
        if name.lower() in subdirs:
            return subdirs[name.lower()]
    return None


def _label_dirs(subdirs: dict[str, Path], layout: Layout) -> dict[str, Path] | None:
    """The folder of each kind ``layout`` pairs, by the kind's folder names; None if one is missing."""
    found = {kind: _first_dir(subdirs, KINDS.get(kind).dirs) for kind in layout.labels}
    return None if any(folder is None for folder in found.values()) else found


def _paired_files(index: DatasetIndex) -> dict[str, dict[str, Path]]:
    """The files of every kind in ``index.label_dirs``, as each kind's reader lists them."""
    return {kind: KINDS.get(kind).target(index) for kind in index.label_dirs}


def _paired_samples(
    images: dict[str, Path], pairs: list[tuple[str, dict[str, Path]]], kinds: Iterable[str]
) -> list[Sample]:
    kinds = tuple(kinds)
    return [
        Sample(stem, images[stem], found.get("mask"), {kind: found[kind] for kind in kinds})
        for stem, found in pairs
    ]


#: files weaksal itself keeps in folders of maps: never reported as unused
OWN_FILES = (".weaksal-output.json",)


def unused_entries(folder: Path) -> list[SkippedFile]:
    """Every entry of ``folder`` that :func:`files_by_stem` leaves out, and why.

    Nothing is dropped without a word: an image type weaksal cannot read
    (.gif), a broken or looping symbolic link, a sub-folder, a hidden file.
    """
    left_out: list[SkippedFile] = []
    for path in sorted(folder.iterdir()):
        if path.name in OWN_FILES or (path.name.startswith(".") and path.name.endswith(".part")):
            continue
        reason = None
        if path.is_symlink() and not path.exists():
            try:
                os.stat(path)  # follows the link: ELOOP for a loop, ENOENT for a missing target
            except OSError as exc:
                loop = exc.errno == errno.ELOOP
                reason = (
                    "a symbolic link loop" if loop else "a symbolic link whose target is missing"
                )
        elif path.is_dir():
            reason = "a sub-folder (files are read from this folder only)"
        elif path.name.startswith("."):
            reason = "a hidden file"
        elif not is_image_file(path):
            reason = (
                f"not an image type weaksal reads ({path.suffix or 'no suffix'}; it reads"
                f" {', '.join(IMAGE_SUFFIXES)}): convert it to PNG or JPEG"
            )
        if reason:
            left_out.append(SkippedFile(path, reason))
    return left_out


@dataclass(frozen=True)
class LayoutMatch:
    layout: Layout
    image_dir: Path
    mask_dir: Path | None
    label_dirs: dict[str, Path]


def match_saliency_layout(root: str | Path) -> LayoutMatch | None:
    """The first saliency layout whose folders exist under ``root``, or None."""
    root = Path(root)
    subdirs = _subdirs(root)
    for layout in SALIENCY_LAYOUTS:
        image_dir = _first_dir(subdirs, layout.image_dirs)
        mask_dir = _first_dir(subdirs, layout.mask_dirs)
        label_dirs = _label_dirs(subdirs, layout)
        if image_dir is None or mask_dir is None or label_dirs is None:
            continue
        return LayoutMatch(layout, image_dir, mask_dir, label_dirs)
    return None


def pair_by_stem(
    images: dict[str, Path],
    others: dict[str, dict[str, Path]],
    on_bad: OnBad = "error",
) -> tuple[list[tuple[str, dict[str, Path]]], list[SkippedFile]]:
    """Pair images with each kind in ``others`` (e.g. {"mask": {...}}) by stem.

    Returns the complete pairs and the unpaired files; with ``on_bad="error"``
    the first unpaired file raises, its message counting the rest.
    """
    complete = set(images)
    for files in others.values():
        complete &= set(files)
    skipped: list[SkippedFile] = []
    for stem in sorted(set(images) - complete):
        missing = [kind for kind, files in others.items() if stem not in files]
        skipped.append(SkippedFile(images[stem], f"no {' or '.join(missing)} with stem '{stem}'"))
    for kind, files in others.items():
        for stem in sorted(set(files) - set(images)):
            skipped.append(SkippedFile(files[stem], f"{kind} without an image of stem '{stem}'"))
    if skipped and on_bad == "error":
        first = skipped[0]
        others_count = len(skipped) - 1
        raise UnpairedFileError(
            first.path,
            first.reason + (f" (and {others_count} more unpaired files)" if others_count else ""),
            "add the missing file or remove the stray one; `weaksal data check` lists every unpaired"
            " file, and `weaksal eval --skip-unpaired` (Python: on_bad='skip') leaves them out"
            " (each is then reported)",
        )
    pairs = [
        (stem, {kind: files[stem] for kind, files in others.items()}) for stem in sorted(complete)
    ]
    return pairs, skipped


def index_saliency(
    root: str | Path,
    on_bad: OnBad = "error",
    image_dir: str | Path | None = None,
    mask_dir: str | Path | None = None,
    label_dirs: Mapping[str, str | Path] | None = None,
) -> DatasetIndex:
    """Index a saliency dataset (images + masks [+ depth]) in any known layout.

    Folders can be given explicitly to override detection; ``label_dirs``
    adds paired label kinds, e.g. ``{"depth": "NJU2K/depth"}``.
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(root, "is not a folder", "point at the dataset's root folder")
    if image_dir is None or mask_dir is None:
        match = match_saliency_layout(root)
        if match is None:
            raise LayoutError(
                root,
                "no known saliency layout (image folder + mask folder) found; sub-folders: "
                + (", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "none"),
                "arrange it as one of the layouts listed by `weaksal data info`, or give the folders"
                " explicitly (--images DIR --masks DIR)",
            )
        layout_name = match.layout.name
        image_dir = Path(image_dir) if image_dir else match.image_dir
        mask_dir = Path(mask_dir) if mask_dir else match.mask_dir
        found_dirs = dict(match.label_dirs)
    else:
        layout_name = "explicit"
        image_dir, mask_dir = Path(image_dir), Path(mask_dir)
        found_dirs = {}
    found_dirs.update({kind: Path(folder) for kind, folder in (label_dirs or {}).items()})
    index = DatasetIndex(
        root,
        layout_name,
        [],
        image_dir=Path(image_dir),
        mask_dir=Path(mask_dir),
        label_dirs=found_dirs,
    )
    others = {"mask": files_by_stem(index.mask_dir), **_paired_files(index)}
    images = files_by_stem(index.image_dir)
    pairs, index.skipped = pair_by_stem(images, others, on_bad)
    index.samples = _paired_samples(images, pairs, index.label_dirs)
    return index


def index_images(root: str | Path) -> DatasetIndex:
    """Index an unlabelled image folder (images directly inside, or in an image sub-folder).

    A single image file is a one-sample index (``weaksal predict photo.jpg``).
    """
    root = Path(root)
    if root.is_file():
        if not is_image_file(root):
            raise LayoutError(
                root,
                f"is not an image file ({', '.join(sorted(IMAGE_SUFFIXES))})",
                "pass an image or a folder of images",
            )
        return DatasetIndex(root, "images", [Sample(root.stem, root)])
    if not root.is_dir():
        raise LayoutError(root, "does not exist", "pass an existing image file or folder of images")
    folder = root
    if not files_by_stem(root):
        folder = (
            _first_dir(_subdirs(root), GENERIC_IMAGE_DIRS + ("DUTS-TR-Image", "DUTS-TE-Image"))
            or root
        )
    images = files_by_stem(folder)
    if not images:
        raise LayoutError(
            root,
            "holds no image files ("
            + ", ".join(s for s in (".jpg", ".png", ".bmp", ".tif", ".webp"))
            + ")",
            "point at the folder that contains the images",
        )
    samples = [Sample(stem, path) for stem, path in sorted(images.items())]
    return DatasetIndex(root, "images", samples, image_dir=folder)


def index_inputs(paths: Sequence[str | Path]) -> DatasetIndex:
    """One index over image files and folders given together (``predict a.jpg b.png photos/``).

    Outputs are named by stem, so two inputs with one stem are refused by name.
    """
    if not paths:
        raise LayoutError(Path("."), "no images given", "pass image files or folders")
    indexes = [index_images(path) for path in paths]
    if len(indexes) == 1:
        return indexes[0]
    samples, seen = [], {}
    for sample in (s for index in indexes for s in index.samples):
        if sample.stem in seen:
            raise DuplicateStemError(
                sample.image,
                f"has the same name stem as {seen[sample.stem]}, and maps are named by stem",
                "rename one of them or run them into different --out folders",
            )
        seen[sample.stem] = sample.image
        samples.append(sample)
    return MultiIndex(Path(paths[0]), "images", samples, parts=indexes)


@dataclass
class MultiIndex(DatasetIndex):
    """Several image files and folders indexed together; ``unused`` asks each folder."""

    parts: list[DatasetIndex] = field(default_factory=list)

    def unused(self) -> list[SkippedFile]:
        return [entry for part in self.parts for entry in part.unused()]


def match_caps_layout(root: str | Path) -> LayoutMatch | None:
    """CapS's training layout (images + fake_mask + depth), or None."""
    subdirs = _subdirs(Path(root))
    image_dir = _first_dir(subdirs, CAPS_LAYOUT.image_dirs)
    label_dirs = _label_dirs(subdirs, CAPS_LAYOUT)
    if image_dir is None or label_dirs is None:
        return None
    mask_dir = _first_dir(subdirs, CAPS_LAYOUT.mask_dirs)
    return LayoutMatch(CAPS_LAYOUT, image_dir, mask_dir, label_dirs)


CAPS_LAYOUT = Layout(
    "caps",
    "CapS training set (JSM): images + fake_mask (initial pseudo-labels) + depth"
    " [+ masks, read only to report label quality] + caption/CapS.csv",
    GENERIC_IMAGE_DIRS,
    GENERIC_MASK_DIRS,
    labels=("depth", "prior"),
)


def index_caps(root: str | Path, on_bad: OnBad = "error") -> DatasetIndex:
    """Index a CapS-layout training set: every image needs its depth map and initial label.

    Ground-truth masks, where the folder exists, are paired too (for reporting
    label quality only); a missing depth map or label is named like any unpaired file.
    """
    root = Path(root)
    match = match_caps_layout(root)
    if match is None:
        raise LayoutError(
            root, "is not a CapS layout", "it needs images/, fake_mask/ and depth/ folders"
        )
    index = DatasetIndex(
        root,
        "caps",
        [],
        image_dir=match.image_dir,
        mask_dir=match.mask_dir,
        label_dirs=dict(match.label_dirs),
    )
    others = _paired_files(index)
    if match.mask_dir is not None:
        others["mask"] = files_by_stem(match.mask_dir)
    images = files_by_stem(match.image_dir)
    pairs, index.skipped = pair_by_stem(images, others, on_bad)
    index.samples = _paired_samples(images, pairs, index.label_dirs)
    return index
