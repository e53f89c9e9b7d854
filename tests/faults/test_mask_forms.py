"""Masks in other forms than grey (issue 32, item 3): a coloured foreground, a VOC palette,
a cut-out's alpha are read as the objects they mark, not as background."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import weaksal

SHAPE = (30, 40)


def _object() -> np.ndarray:
    inside = np.zeros(SHAPE, bool)
    inside[8:22, 10:30] = True
    return inside


def _dataset(root, masks: dict[str, Image.Image]):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for stem, mask in masks.items():
        Image.fromarray(rng.integers(0, 256, SHAPE + (3,), dtype=np.uint8)).save(
            root / "images" / f"{stem}.jpg"
        )
        mask.save(root / "masks" / f"{stem}.png")
    return root


def _forms() -> dict[str, Image.Image]:
    inside = _object()
    red = np.zeros(SHAPE + (3,), np.uint8)
    red[inside] = (200, 30, 30)  # luminance 81: below the 128 of a grey mask
    voc = Image.fromarray(np.where(inside, 1, 0).astype(np.uint8), mode="P")
    palette = [0, 0, 0] * 256
    palette[3:6] = [128, 0, 0]  # VOC's "aeroplane": luminance 38
    voc.putpalette(palette)
    cutout = np.zeros(SHAPE + (4,), np.uint8)
    cutout[..., :3] = 90  # the photo's colours do not matter
    cutout[..., 3] = np.where(inside, 255, 0)
    return {
        "red": Image.fromarray(red),
        "voc": voc,
        "cutout": Image.fromarray(cutout, mode="RGBA"),
        "grey": Image.fromarray(np.where(inside, 255, 0).astype(np.uint8)),  # the neighbour
    }


@pytest.mark.parametrize("form", ["red", "voc", "cutout", "grey"])
def test_a_perfect_map_scores_perfectly_against_every_mask_form(tmp_path, form):
    root = _dataset(tmp_path / "data", {"a": _forms()[form]})
    maps = tmp_path / "maps"
    maps.mkdir()
    Image.fromarray(np.where(_object(), 255, 0).astype(np.uint8)).save(maps / "a.png")
    table = weaksal.evaluate({"perfect": str(maps)}, str(root))
    row = table["perfect", "data"]
    assert row["mae"] == pytest.approx(0.0, abs=1e-9), form
    assert row["maxf"] == pytest.approx(1.0, abs=1e-6), form


def test_data_check_sees_the_objects_of_colour_masks(tmp_path):
    root = _dataset(tmp_path / "data", {k: v for k, v in _forms().items() if k != "grey"})
    report = weaksal.check(str(root))
    share = _object().mean()
    assert report.mean_foreground == pytest.approx(share, abs=0.01)  # not 0: masks are read
