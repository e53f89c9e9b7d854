from __future__ import annotations

import pytest

from tests.engine.tiny import make_dataset
from weaksal.data.datasets import SaliencyDataset
from weaksal.data.discover import open_dataset
from weaksal.plumbing.errors import LayoutError


def test_split_file_selects_samples_and_refuses_unknown_splits(tmp_path):
    root = make_dataset(tmp_path / "d", count=8)
    assert open_dataset(root, split="val").stems() == ["img003", "img007"]
    assert len(open_dataset(root, split="train")) == 6
    assert len(open_dataset(root)) == 8
    with pytest.raises(LayoutError, match="no split 'test'.*'train', 'val'"):
        open_dataset(root, split="test")
    (root / "split.csv").unlink()
    with pytest.raises(LayoutError, match="split.csv: no split file"):
        open_dataset(root, split="val")


def test_saliency_dataset_items_are_square_uint8_with_binarised_masks(tmp_path):
    root = make_dataset(tmp_path / "d", count=3)
    item = SaliencyDataset(open_dataset(root).samples, size=32)[1]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype.is_floating_point is False
    assert item["mask"].shape == (1, 32, 32) and item["index"] == 1
    assert set(item["mask"].unique().tolist()) >= {0, 255}


@pytest.mark.data
def test_duts_tr_50_split_is_the_published_one(real_data):
    train = open_dataset(real_data / "DUTS-TR-50", split="train")
    val = open_dataset(real_data / "DUTS-TR-50", split="val")
    assert (len(train), len(val)) == (4236, 449)
    assert not set(train.stems()) & set(val.stems())
