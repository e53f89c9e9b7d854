"""Versioned label stores: rounds, commits, resuming a half-written update."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from weaksal.refine.label_store import LabelStore


def label(value: int) -> np.ndarray:
    return np.full((4, 5), value, np.uint8)


def test_rounds_become_readable_only_when_committed(tmp_path):
    store = LabelStore(tmp_path / "labels")
    assert store.rounds() == [] and store.latest() is None
    store.write(0, "a", label(0))
    store.write(0, "b", label(255))
    with pytest.raises(FileNotFoundError, match="no committed label round"):
        store.label_path("a")
    store.commit(0, ["a", "b"], {"step": 0})
    assert store.latest() == 0 and store.info(0) == {"labels": 2, "step": 0}
    assert np.asarray(Image.open(store.label_path("b"))).max() == 255


def test_an_interrupted_update_resumes_with_the_missing_labels_only(tmp_path):
    store = LabelStore(tmp_path)
    for stem in "ab":
        store.write(0, stem, label(10))
    store.commit(0, "ab")
    store.write(1, "a", label(20))  # killed here: round 1 has one label of two
    assert store.latest() == 0 and store.missing(1, "ab") == ["b"]
    with pytest.raises(ValueError, match="1 labels missing \\(first b\\)"):
        store.commit(1, "ab")
    assert np.asarray(Image.open(store.label_path("a"))).max() == 10  # training reads round 0
    store.write(1, "b", label(30))
    store.commit(1, "ab")
    assert store.rounds() == [0, 1]
    assert np.asarray(Image.open(store.label_path("a"))).max() == 20
    assert np.asarray(Image.open(store.label_path("a", 0))).max() == 10  # old versions stay


def test_committed_rounds_are_final(tmp_path):
    store = LabelStore(tmp_path)
    store.write(0, "a", label(1))
    store.commit(0, ["a"])
    store.write(2, "a", label(2))
    store.commit(2, ["a"])
    with pytest.raises(ValueError, match="committed; labels are final"):
        store.write(0, "a", label(3))
    with pytest.raises(ValueError, match="go back in time"):
        store.write(1, "a", label(3))
    with pytest.raises(FileNotFoundError, match="round 1 is not committed"):
        store.label_path("a", 1)
