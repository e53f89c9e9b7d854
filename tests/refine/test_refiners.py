"""One refiner registry for the CLI and the label stages: names, outputs, options."""

from __future__ import annotations

import numpy as np
import pytest

from tests.refine.helpers import coarse_map, synthetic_scene
from weaksal.refine.dense_crf import refine_saliency
from weaksal.refine.iterative_crf import iterative_crf
from weaksal.refine.refiners import REFINERS, accepted_options, refine


def test_every_refiner_is_registered_with_what_it_takes():
    assert list(REFINERS) == ["densecrf", "itercrf", "mr", "threshold"]
    assert [e.name for e in REFINERS.entries() if e.several_maps] == ["mr"]
    assert accepted_options("densecrf", threshold=0.4, preset="jsm") == {"preset": "jsm"}
    assert accepted_options("itercrf", threshold=0.4, preset="jsm") == {"threshold": 0.4}


def test_refine_dispatches_to_the_refiners_with_their_defaults():
    image, mask = synthetic_scene()
    coarse = coarse_map(mask, 0)
    assert np.array_equal(
        refine("densecrf", image, [coarse]), refine_saliency(image, coarse, "mws")
    )
    assert np.array_equal(
        refine("itercrf", image, [coarse], threshold=0.4), iterative_crf(image, coarse, 0.4)
    )
    cut = refine("threshold", image, [coarse], threshold=0.5)
    assert set(np.unique(cut)) <= {0, 255}
    assert np.array_equal(cut > 0, coarse.astype(np.float32) / 255 > 0.5)


def test_outputs_are_converted_and_misuse_is_refused():
    image, mask = synthetic_scene()
    coarse = coarse_map(mask, 0)
    soft = refine("densecrf", image, [coarse], preset="jsm")
    assert len(np.unique(soft)) > 2  # the jsm preset gives a soft map
    binary = refine("densecrf", image, [coarse], "binary", preset="jsm")
    assert np.array_equal(binary > 0, soft > 128) and set(np.unique(binary)) <= {0, 255}
    with pytest.raises(ValueError, match="only mr combines several"):
        refine("itercrf", image, [coarse, coarse])
    with pytest.raises(ValueError, match="unknown refiner 'foo'"):
        refine("foo", image, [coarse])
    with pytest.raises(TypeError):
        refine("mr", image, [coarse], preset="mws")
