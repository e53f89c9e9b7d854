"""Label kinds: a kind registered in one place reaches every sample, and the built-in kinds read
what they read before they were registered.

The ``points`` kind below stands for a new kind of supervision: this module is
all it takes (a reader and its registration); ``open_dataset``, ``Sample.label``
and ``weaksal data check`` pick it up without a change elsewhere. Its reader
only reads a ``points.csv``, so the other tests' datasets never see it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import disk_mask, make_pairs, random_rgb, save_image
from weaksal.data.check import check_dataset
from weaksal.data.discover import LAYOUT_TABLE, open_dataset
from weaksal.data.kinds import KINDS, attach_labels, file_kinds, label_kind
from weaksal.data.layouts import DatasetIndex, Sample, index_saliency
from weaksal.plumbing.errors import UnpairedFileError

POINTS_FILE = "points.csv"


def read_points_csv(path: Path) -> dict[str, tuple[tuple[int, int], ...]]:
    """``image,x,y`` rows (a header first): every clicked point of each image, in file order."""
    points: dict[str, list[tuple[int, int]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            points.setdefault(Path(row["image"]).stem, []).append((int(row["x"]), int(row["y"])))
    return {stem: tuple(found) for stem, found in points.items()}


@label_kind(
    "points",
    empty=(),
    folders="points.csv beside the data: image,x,y",
    about="clicked object points (a kind registered by a test module)",
)
def read_points(index: DatasetIndex) -> dict[str, tuple[tuple[int, int], ...]]:
    path = index.root / POINTS_FILE
    return read_points_csv(path) if path.is_file() else {}


def _write_points(root: Path) -> None:
    (root / POINTS_FILE).write_text("image,x,y\na.jpg,3,4\nc.jpg,10,2\na.jpg,5,6\n")


def test_a_kind_registered_in_one_module_is_attached_by_open_dataset(tmp_path):
    make_pairs(tmp_path, "images", "GT", ["a", "b", "c"])
    _write_points(tmp_path)
    index = open_dataset(tmp_path)
    assert index.layout == "sod"
    by_stem = index.by_stem()
    assert by_stem["a"].label("points") == ((3, 4), (5, 6))
    assert by_stem["c"].label("points") == ((10, 2),)
    assert by_stem["b"].label("points") == () and "points" not in by_stem["b"].labels
    assert by_stem["a"].labels == {"points": ((3, 4), (5, 6))}  # nothing else found here
    assert [s.mask.name for s in index] == ["a.png", "b.png", "c.png"]  # pairing unchanged
    report = check_dataset(tmp_path, workers=1)
    assert report.ok and report.counts["images with points"] == 2


def test_a_new_kind_rides_along_with_every_layout_and_the_other_kinds(tmp_path):
    for stem in ("n01440764_1", "n02165456_7"):  # synset stems: tags without a CSV
        save_image(tmp_path / f"{stem}.png", random_rgb())
    (tmp_path / POINTS_FILE).write_text("image,x,y\nn02165456_7.png,1,1\n")
    index = open_dataset(tmp_path)
    assert index.layout == "images"
    assert [(s.stem, s.label("tags"), s.label("points")) for s in index] == [
        ("n01440764_1", ("n01440764",), ()),
        ("n02165456_7", ("n02165456",), ((1, 1),)),
    ]
    # a layout indexed without open_dataset pairs its files only, as before
    make_pairs(tmp_path / "plain", "images", "masks", ["a"])
    _write_points(tmp_path / "plain")
    assert index_saliency(tmp_path / "plain").samples[0].labels == {}


def test_the_registry_lists_every_kind_with_its_empty_value_and_info_line():
    builtin = {
        "caps": (),
        "captions": (),
        "categories": (),
        "depth": None,
        "prior": None,
        "tags": (),
    }
    assert {name: KINDS.get(name).empty for name in builtin} == builtin
    assert file_kinds() == ["depth", "prior"]
    assert KINDS.get("depth").dirs == ("depth", "Depth", "test_depth", "train_depth")
    rows = {name: (folders, about) for name, folders, about in LAYOUT_TABLE}
    assert rows["depth (label)"] == (
        "depth|Depth|test_depth|train_depth",
        "depth maps paired by stem (RGB-D layout)",
    )
    assert rows["tags (label)"][0].startswith("tags.csv beside the data")
    assert "fake_mask" in rows["caps"][0]  # the CapS layout names the folders of its kinds
    with pytest.raises(ValueError, match="unknown label kind 'tag'.*tags"):
        Sample("a", Path("a.jpg")).label("tag")
    with pytest.raises(ValueError, match="empty value must be falsy"):
        label_kind("bad", empty=(0,), folders="", about="")


def test_labels_the_layout_set_win_and_empty_ones_are_filled(tmp_path):
    (tmp_path / "captions_x.csv").write_text(
        "Index,Image,Caption,Semantic,Position,SubCategory,Category,Source\n"
        "0,a.jpg,a dog,dog,2,,animal,x\n1,b.jpg,a cat,cat,2,,animal,x\n"
    )
    samples = [
        Sample("a", tmp_path / "a.jpg", labels={"captions": ("from the layout",)}),
        Sample("b", tmp_path / "b.jpg", labels={"captions": ()}),
        Sample("c", tmp_path / "c.jpg"),
    ]
    index = attach_labels(DatasetIndex(tmp_path, "explicit", samples))
    assert [s.label("captions") for s in index] == [("from the layout",), ("a cat",), ()]
    assert [s.label("categories") for s in index] == [("animal",), ("animal",), ()]
    assert index.samples[2].labels == {}
    tagged = index.samples[0].with_labels(tags=("dog",))
    assert tagged.label("tags") == ("dog",) and tagged.label("captions") == ("from the layout",)
    assert index.samples[0].label("tags") == ()  # with_labels copies


def test_paired_kinds_read_their_own_folders_and_a_missing_file_is_unpaired(tmp_path):
    make_pairs(tmp_path, "RGB", "GT", ["a", "b"], depth_dir="Depth")
    index = open_dataset(tmp_path)
    assert index.layout == "rgbd" and index.label_dirs == {"depth": tmp_path / "Depth"}
    assert {s.stem: s.label("depth") for s in index} == {
        "a": tmp_path / "Depth" / "a.png",
        "b": tmp_path / "Depth" / "b.png",
    }
    assert [s.label("prior") for s in index] == [None, None]
    save_image(tmp_path / "GT" / "c.png", disk_mask())
    save_image(tmp_path / "RGB" / "c.jpg", random_rgb())
    with pytest.raises(UnpairedFileError, match=r"c\.jpg.*no depth with stem 'c'"):
        open_dataset(tmp_path)
    skipped = open_dataset(tmp_path, on_bad="skip")
    assert skipped.stems() == ["a", "b"] and [s.path.name for s in skipped.skipped] == ["c.jpg"]
    explicit = index_saliency(
        tmp_path,
        "skip",
        tmp_path / "RGB",
        tmp_path / "GT",
        label_dirs={"depth": tmp_path / "Depth"},
    )
    assert explicit.layout == "explicit" and explicit.stems() == ["a", "b"]
    assert [s.label("depth") for s in explicit] == [s.label("depth") for s in index]
