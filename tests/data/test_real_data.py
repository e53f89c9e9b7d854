"""The dataset layer on the real shared data: true counts and labels."""

import pytest

from weaksal.data import open_dataset, read_image, read_mask
from weaksal.data.check import check_dataset

pytestmark = pytest.mark.data


@pytest.mark.parametrize(
    ("name", "layout", "count"),
    [
        ("ECSSD", "ecssd", 1000),
        ("SOD", "sod", 300),
        ("DUTS-TR-50", "duts-tr", 4685),
        ("COCO-MINI", "coco", 159),
    ],
)
def test_real_datasets_check_clean_with_true_counts(real_data, name, layout, count):
    report = check_dataset(real_data / name)
    assert report.ok, (report.unpaired, report.unreadable, report.size_mismatches)
    assert report.layout == layout
    assert report.counts["images"] == report.counts["complete samples"] == count
    if layout != "coco":
        assert report.counts["masks"] == count


def test_duts_tags_and_grey_masks(real_data):
    index = open_dataset(real_data / "DUTS-TR-50")
    by_stem = index.by_stem()
    assert by_stem["n02165456_10306"].label("tags") == ("ladybug",)
    assert len({s.label("tags") for s in index}) == 50
    mask = read_mask(by_stem["n02165456_10306"].mask)
    assert mask.ndim == 2 and mask.shape == read_image(by_stem["n02165456_10306"].image).shape[:2]


def test_coco_mini_captions_and_categories(real_data):
    index = open_dataset(real_data / "COCO-MINI")
    assert all(len(s.label("captions")) == 5 for s in index)
    assert all(s.label("categories") for s in index)
    assert sum(1 for s in index if s.image.parent.name == "train2017") == 80
