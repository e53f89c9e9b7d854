"""Every shipped model gives the maps it gave when they were recorded.

``tests/fixtures/shipped_maps`` holds the PNGs that ``make_reference.py``
there wrote for the first 20 ECSSD images with the shipped files whose
hashes ``models.json`` lists: MR's maps, the saliency map of every shipped
saliency model, the LPS promoter's maps of the MR priors, and SSNet's
class-index maps. Today's code must write them again within one grey level
(the class maps: the same class on all but 0.1% of the pixels, where two
class scores tie within bf16/float rounding). No case may skip: when a
shipped model is replaced, its maps are recorded again in the same commit
(``models.json`` must name exactly the shipped files), so a code change can
never hide behind a model change.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCE = Path(__file__).parent / "fixtures" / "shipped_maps"
COUNT = 20
#: the shipped models whose saliency maps are recorded (every shipped saliency network)
SALIENCY_MODELS = ("wss", "mws", "jsm", "ssnet")
pytestmark = pytest.mark.data


# -- how the maps are made: the public API, shared with make_reference.py ------
def ecssd_samples(root: Path) -> list:
    from weaksal.data.layouts import index_saliency

    return list(index_saliency(root / "ECSSD"))[:COUNT]


def saliency_model(name: str):
    import weaksal

    return weaksal.load(name)


def open_promotion():
    import weaksal

    return weaksal.load("lps")


def open_segmentation():
    import weaksal

    return weaksal.load("ssnet", task="seg")


def shipped_hashes() -> dict[str, str]:
    """``name/file`` -> sha256 of every network file of every shipped model."""
    from weaksal.pretrained import read_manifest, shipped_names

    return {
        f"{name}/{file}": entry["sha256"]
        for name in sorted(shipped_names())
        for file, entry in sorted(read_manifest(name)["files"].items())
    }


# -- the checks --------------------------------------------------------------
@pytest.fixture(scope="module")
def ecssd_images(real_data):
    from weaksal.data.imageio import read_image

    samples = ecssd_samples(real_data)
    assert len(samples) == len(list((REFERENCE / "mr").glob("*.png"))) == COUNT
    return {s.stem: read_image(s.image) for s in samples}


def reference(model: str, stem: str) -> np.ndarray:
    return np.asarray(Image.open(REFERENCE / model / f"{stem}.png"), np.int16)


def as_png_levels(saliency: np.ndarray) -> np.ndarray:
    return np.round(saliency * 255).astype(np.int16)


def test_the_fixture_names_exactly_the_shipped_files():
    """A replaced (or new) shipped model must come with its maps recorded again."""
    recorded = json.loads((REFERENCE / "models.json").read_text())
    assert recorded == shipped_hashes(), (
        "the shipped models differ from those the maps were recorded with: run"
        " python tests/fixtures/shipped_maps/make_reference.py in the commit that replaces one"
    )


def test_mr_maps_are_unchanged(ecssd_images):
    mr = saliency_model("mr")
    for stem, image in ecssd_images.items():
        assert np.array_equal(as_png_levels(mr(image)), reference("mr", stem)), stem


@pytest.mark.parametrize("name", SALIENCY_MODELS)
def test_shipped_saliency_models_write_the_same_maps(ecssd_images, name):
    model = saliency_model(name)
    worst = {
        stem: int(np.abs(as_png_levels(model(image)) - reference(name, stem)).max())
        for stem, image in ecssd_images.items()
    }
    assert max(worst.values()) <= 1, worst


def test_shipped_promoter_writes_the_same_maps(ecssd_images):
    lps = open_promotion()
    worst = {}
    for stem, image in ecssd_images.items():
        promoted = lps(image, reference("mr", stem).astype(np.uint8))
        worst[stem] = int(np.abs(as_png_levels(promoted) - reference("lps", stem)).max())
    assert max(worst.values()) <= 1, worst


def test_shipped_segmenter_writes_the_same_class_maps(ecssd_images):
    segmenter = open_segmentation()
    for stem, image in ecssd_images.items():
        labels = segmenter(image).astype(np.int16)
        recorded = reference("ssnet-seg", stem)
        assert labels.shape == recorded.shape, stem
        assert np.mean(labels != recorded) <= 0.001, stem
