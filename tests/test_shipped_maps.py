"""The shipped models give the maps they gave before the models package (issue 14).

``tests/fixtures/shipped_maps`` holds the PNGs that the code of commit
bb5c6c2 wrote for the first 20 ECSSD images (``make_reference.py`` there):
MR's maps, ``weaksal predict``'s WSS and MWS maps and the LPS promoter's maps
of the MR priors. Today's code must write them again within one grey level,
as long as the shipped model is the one the fixture was made with
(``models.json``: the files' hashes); a model replaced by a better one
(issue 18) is checked by ``test_pretrained.py`` instead, and its case here
says so and skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from weaksal.classic import get_detector
from weaksal.data.imageio import read_image
from weaksal.data.layouts import index_saliency
from weaksal.detectors import open_runtime
from weaksal.inference import predict_images
from weaksal.promote import open_promoter

REFERENCE = Path(__file__).parent / "fixtures" / "shipped_maps"
pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def ecssd_images(real_data):
    samples = list(index_saliency(real_data / "ECSSD"))[:20]
    assert len(samples) == len(list((REFERENCE / "mr").glob("*.png"))) == 20
    return {s.stem: read_image(s.image) for s in samples}


def require_fixture_model(name: str, role: str = "saliency") -> None:
    from weaksal.digest import file_sha256
    from weaksal.pretrained import resolve_model

    recorded = json.loads((REFERENCE / "models.json").read_text())[name]
    if file_sha256(resolve_model(name, role)) != recorded:
        pytest.skip(f"the shipped {name} model was replaced since these maps were recorded")


def reference(model: str, stem: str) -> np.ndarray:
    return np.asarray(Image.open(REFERENCE / model / f"{stem}.png"), np.int16)


def as_png_levels(saliency: np.ndarray) -> np.ndarray:
    return np.round(saliency * 255).astype(np.int16)


def test_mr_maps_are_unchanged(ecssd_images):
    mr = get_detector("mr")
    for stem, image in ecssd_images.items():
        assert np.array_equal(mr(image).astype(np.int16), reference("mr", stem)), stem


@pytest.mark.parametrize("name", ["wss", "mws"])
def test_shipped_saliency_models_write_the_same_maps(ecssd_images, name):
    require_fixture_model(name)
    runtime, size = open_runtime(name)
    stems = list(ecssd_images)
    maps = predict_images(runtime, [ecssd_images[s] for s in stems], size)
    worst = max(
        int(np.abs(as_png_levels(m) - reference(name, s)).max())
        for s, m in zip(stems, maps, strict=True)
    )
    assert worst <= 1


def test_shipped_promoter_writes_the_same_maps(ecssd_images):
    require_fixture_model("lps", "promote")
    promoter = open_promoter("lps", iterations=3)
    worst = 0
    for stem, image in ecssd_images.items():
        promoted = promoter.maps([image], [reference("mr", stem).astype(np.uint8)])[0]
        worst = max(worst, int(np.abs(as_png_levels(promoted) - reference("lps", stem)).max()))
    assert worst <= 1
