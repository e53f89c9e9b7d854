"""Weak labels: image-level tags, captions and categories.

Readers return plain ``{stem: tuple[...]}`` dictionaries so that any source
of supervision plugs into a dataset the same way (CapS rows as
:class:`CapsEntry`, everything else as strings).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from weaksal.plumbing.errors import CorruptFileError

SYNSET_STEM = re.compile(r"^(n\d{8})_")
_TAG_SEPARATORS = re.compile(r"[;|]")
_IMAGE_COLUMNS = ("image", "stem", "name", "file", "filename", "img")
_TAG_COLUMNS = ("tag", "tags", "label", "labels", "class", "classes")


def _stem(name: str) -> str:
    return Path(name.strip()).stem


def _read_rows(path: Path, fallback: str | None = None) -> list[list[str]]:
    """The non-empty rows of a CSV in UTF-8 (or, failing that, the ``fallback`` encoding)."""
    for encoding in ("utf-8-sig", fallback):
        if encoding is None:
            break
        try:
            with open(path, newline="", encoding=encoding) as handle:
                return [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
        except UnicodeDecodeError as exc:
            error: Exception = exc
        except (OSError, csv.Error) as exc:
            error = exc
            break
    raise CorruptFileError(path, f"cannot read CSV ({error})", "save it as UTF-8 CSV")


def read_tags_csv(path: str | Path, merge_case: bool = True) -> dict[str, tuple[str, ...]]:
    """Image-level tags from a CSV: ``image,tag[,tag...]``, multi-label allowed.

    With a header, the image column is the first of image/stem/name/file and the
    tags come from columns named tag(s)/label(s)/class(es) or ``tag1, tag2...``;
    without one, column 0 is the image and every further cell a tag. Several
    rows for one image accumulate, and a cell may hold several tags split by
    ``;`` or ``|``. Image names are reduced to their stem. Tags that differ only in
    case are one class, spelt in lower case (``merge_case``; ``weaksal data check``
    warns about them).
    """
    path = Path(path)
    rows = _read_rows(path)
    if not rows:
        raise CorruptFileError(
            path, "tag CSV is empty", "write one row per image: image,tag[,tag...]"
        )
    header = [cell.strip().lower() for cell in rows[0]]
    if header[0] in _IMAGE_COLUMNS:
        image_col = header.index(next(c for c in header if c in _IMAGE_COLUMNS))
        tag_cols = [
            i
            for i, name in enumerate(header)
            if name in _TAG_COLUMNS or re.fullmatch(r"(tag|label)_?\d+", name)
        ]
        if not tag_cols:
            raise CorruptFileError(
                path,
                f"header {rows[0]} has no tag column",
                "name the tag column 'tag' (or tags/label/labels/class, or tag1, tag2...)",
            )
        body = rows[1:]
    else:
        image_col, tag_cols, body = 0, None, rows
    tags: dict[str, list[str]] = defaultdict(list)
    for line, row in enumerate(body, start=2 if tag_cols is not None else 1):
        if len(row) <= image_col or not row[image_col].strip():
            raise CorruptFileError(
                path, f"row {line} has no image name", "fill in or delete the row"
            )
        cells = [row[i] for i in tag_cols if i < len(row)] if tag_cols is not None else row[1:]
        stem = _stem(row[image_col])
        for cell in cells:
            for tag in _TAG_SEPARATORS.split(cell):
                if tag.strip() and tag.strip() not in tags[stem]:
                    tags[stem].append(tag.strip())
    found = {stem: tuple(values) for stem, values in tags.items()}
    if not merge_case:
        return found
    spelling = {
        variant: min(group) for group in tag_case_variants(found).values() for variant in group
    }
    return {
        stem: tuple(dict.fromkeys(spelling.get(tag, tag) for tag in values))
        for stem, values in found.items()
    }


def tag_case_variants(tags: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Tags that differ only in case (``ARTICHOKE`` / ``artichoke``), grouped by their lower
    case: each group is one class written several ways, which would otherwise split it."""
    groups: dict[str, set[str]] = defaultdict(set)
    for values in tags.values():
        for tag in values:
            groups[tag.lower()].add(tag)
    return {key: sorted(group) for key, group in sorted(groups.items()) if len(group) > 1}


def read_synset_words(path: str | Path) -> dict[str, str]:
    """``wnid -> name`` from an ImageNet ``synset_words.txt`` / ``LOC_synset_mapping.txt``.

    Each line is ``n01440764 tench, Tinca tinca``; the name is the first lemma.
    """
    path = Path(path)
    names: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(path, f"cannot read synset list ({exc})", "check the file") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        wnid, _, lemmas = line.strip().partition(" ")
        if not re.fullmatch(r"n\d{8}", wnid):
            raise CorruptFileError(
                path,
                f"line {number} does not start with a WordNet id",
                "lines read 'n01440764 tench, ...'",
            )
        names[wnid] = lemmas.split(",")[0].strip() or wnid
    return names


def tags_from_synset_names(
    stems: list[str], synset_names: dict[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """ImageNet-style tags from file names like ``n02165456_10306``.

    The tag is the WordNet id, or its name when ``synset_names`` maps it.
    Stems without a synset prefix get no tag.
    """
    tags: dict[str, tuple[str, ...]] = {}
    for stem in stems:
        match = SYNSET_STEM.match(stem)
        if match:
            wnid = match.group(1)
            tags[stem] = ((synset_names or {}).get(wnid, wnid),)
    return tags


def read_imagenet_det_lists(
    lists_dir: str | Path, class_names: list[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Multi-label tags of ImageNet DET training images from the devkit's class lists.

    ``lists_dir`` is ``ILSVRC2014_devkit/data/det_lists``: ``train_pos_<k>.txt``
    lists, one image path per line (relative, without extension), the images
    holding an object of class ``k`` (1..200); an image in several lists gets
    several tags, as MWS's ``ImageNetDetCls`` builds its multi-hot vectors.
    The tag is ``class_names[k - 1]`` when given, else ``det<k>`` (3 digits).
    Write the result with :func:`write_tags_csv` beside the images.
    """
    lists_dir = Path(lists_dir)
    files = sorted(
        lists_dir.glob("train_pos_*.txt"), key=lambda p: int(p.stem.rpartition("_")[2] or 0)
    )
    if not files:
        raise CorruptFileError(
            lists_dir,
            "holds no train_pos_<k>.txt lists",
            "point at ILSVRC2014_devkit/data/det_lists",
        )
    tags: dict[str, list[str]] = defaultdict(list)
    for path in files:
        number = path.stem.rpartition("_")[2]
        if not number.isdigit():
            continue
        k = int(number)
        if class_names is not None and not 1 <= k <= len(class_names):
            raise CorruptFileError(
                path, f"class {k} has no name ({len(class_names)} given)", "pass all class names"
            )
        tag = class_names[k - 1] if class_names is not None else f"det{k:03d}"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                stem = _stem(line.split()[0])
                if tag not in tags[stem]:
                    tags[stem].append(tag)
    return {stem: tuple(values) for stem, values in tags.items()}


def write_tags_csv(tags: dict[str, tuple[str, ...]], path: str | Path) -> None:
    """``image,tags`` rows (tags joined by ``;``) that :func:`read_tags_csv` reads back."""
    from weaksal.plumbing.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "tags"])
        for stem in sorted(tags):
            writer.writerow([stem, ";".join(tags[stem])])


def _load_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(
            path, f"cannot read JSON ({exc})", "re-download the annotation file"
        ) from exc
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise CorruptFileError(
            path,
            "is not COCO-format JSON (no 'images' and 'annotations' lists)",
            "give a COCO annotation file",
        )
    return data


def _coco_records(
    path: Path, data: object, key: str, required: dict[str, type | tuple[type, ...]]
) -> list[dict]:
    """``data[key]``, checked to be a list of objects with ``required`` fields of those types."""
    fix = "use an unmodified COCO annotation file (each entry needs " + ", ".join(required) + ")"
    if not isinstance(data, dict):
        raise CorruptFileError(path, f"is a JSON {type(data).__name__}, not a COCO object", fix)
    records = data.get(key)
    if not isinstance(records, list):
        got = "missing" if records is None else f"a {type(records).__name__}"
        raise CorruptFileError(path, f"'{key}' is {got}, not a list", fix)
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise CorruptFileError(path, f"{key}[{index}] is not an object", fix)
        for field, kind in required.items():
            value = record.get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                shown = "missing" if field not in record else repr(value)[:40]
                raise CorruptFileError(path, f"{key}[{index}].{field} is {shown}", fix)
    return records


def read_coco_captions(path: str | Path) -> dict[str, tuple[str, ...]]:
    """``stem -> captions`` from a COCO ``captions_*.json``."""
    path = Path(path)
    data = _load_json(path)
    images = _coco_records(path, data, "images", {"id": (int, str), "file_name": str})
    annotations = _coco_records(path, data, "annotations", {"image_id": (int, str), "caption": str})
    stems = {image["id"]: _stem(image["file_name"]) for image in images}
    captions: dict[str, list[str]] = {stem: [] for stem in stems.values()}
    for annotation in annotations:
        if annotation["image_id"] not in stems:
            raise CorruptFileError(
                path,
                f"caption {annotation.get('id')} refers to unknown image id {annotation['image_id']}",
                "use the annotation file that matches the image list",
            )
        captions[stems[annotation["image_id"]]].append(annotation["caption"].strip())
    return {stem: tuple(values) for stem, values in captions.items()}


def read_coco_categories(path: str | Path) -> dict[str, tuple[str, ...]]:
    """``stem -> category names`` (sorted, unique) from a COCO ``instances_*.json``."""
    path = Path(path)
    data = _load_json(path)
    images = _coco_records(path, data, "images", {"id": (int, str), "file_name": str})
    annotations = _coco_records(
        path, data, "annotations", {"image_id": (int, str), "category_id": (int, str)}
    )
    listed = (
        _coco_records(path, data, "categories", {"id": (int, str), "name": str})
        if "categories" in data
        else []
    )
    names = {category["id"]: category["name"] for category in listed}
    stems = {image["id"]: _stem(image["file_name"]) for image in images}
    categories: dict[str, set[str]] = {stem: set() for stem in stems.values()}
    for annotation in annotations:
        if annotation["image_id"] not in stems or annotation["category_id"] not in names:
            raise CorruptFileError(
                path,
                f"annotation {annotation.get('id')} refers to an unknown image or category",
                "use an unmodified COCO instances file",
            )
        categories[stems[annotation["image_id"]]].add(names[annotation["category_id"]])
    return {stem: tuple(sorted(values)) for stem, values in categories.items()}


CAPS_COLUMNS = (
    "Index",
    "Image",
    "Caption",
    "Semantic",
    "Position",
    "SubCategory",
    "Category",
    "Source",
)


@dataclass(frozen=True)
class CapsEntry:
    """One CapS row: a caption, its salient word and where that word sits.

    ``position`` counts the slots of JSM's text sequence, where slot 0 is the
    start token, so the caption's first word is slot 1 (JSM's TSM masks the
    slot ``position``); None where the row leaves it empty.
    """

    caption: str
    semantic: str = ""
    position: int | None = None
    subcategory: str = ""
    category: str = ""


def read_caps_csv(path: str | Path) -> dict[str, tuple[CapsEntry, ...]]:
    """Every row of a CapS-style CSV, keyed by image stem (several rows per image accumulate).

    Columns: Index, Image, Caption, Semantic, Position, SubCategory, Category,
    Source. The released CapS file is GBK-encoded, so GBK is tried after UTF-8.
    """
    path = Path(path)
    rows = _read_rows(path, fallback="gbk")
    if not rows or [c.strip() for c in rows[0][: len(CAPS_COLUMNS)]] != list(CAPS_COLUMNS):
        raise CorruptFileError(
            path,
            f"header is {rows[0] if rows else 'missing'}, not the CapS columns",
            "the first row must be " + ",".join(CAPS_COLUMNS),
        )
    col = {name: i for i, name in enumerate(CAPS_COLUMNS)}
    entries: dict[str, list[CapsEntry]] = defaultdict(list)
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < len(CAPS_COLUMNS):
            raise CorruptFileError(
                path,
                f"row {line} has {len(row)} of {len(CAPS_COLUMNS)} columns",
                "complete or delete the row",
            )
        cell = row[col["Position"]].strip()
        try:
            position = int(float(cell)) if cell else None
        except ValueError:
            raise CorruptFileError(
                path,
                f"row {line}: Position is {cell!r}, not a slot number",
                "write the salient word's slot (the caption's first word is 1) or leave it empty",
            ) from None
        entries[_stem(row[col["Image"]])].append(
            CapsEntry(
                caption=row[col["Caption"]].strip(),
                semantic=row[col["Semantic"]].strip(),
                position=position,
                subcategory=row[col["SubCategory"]].strip(),
                category=row[col["Category"]].strip(),
            )
        )
    return {stem: tuple(found) for stem, found in entries.items()}


def caps_captions(entries: tuple[CapsEntry, ...]) -> tuple[str, ...]:
    return tuple(e.caption for e in entries if e.caption)


def caps_categories(entries: tuple[CapsEntry, ...]) -> tuple[str, ...]:
    """Category then sub-category of each row, each name once, in order."""
    names = [n for e in entries for n in (e.category, e.subcategory) if n]
    return tuple(dict.fromkeys(names))
