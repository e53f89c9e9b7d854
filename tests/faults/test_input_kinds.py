"""The API's input kinds (issue 32, item 1): every form of one photo gives one map, and what
cannot be read without guessing is refused in one line, never turned into a wrong map.

Written against the public API only (``weaksal.load``, ``weaksal.render``), so the same file
ran on the code before the fix (where these cases gave maps in silence) and after.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import weaksal


def photo(shape=(40, 56), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = (rng.integers(0, 256, shape + (3,)) // 3).astype(np.uint8)
    image[10:30, 15:40] = (230, 200, 40)
    return image


@pytest.fixture(scope="module")
def mr():
    return weaksal.load("mr")


def test_nan_in_a_float_image_is_refused_not_mapped(mr):
    image = photo().astype(np.float32) / 255.0
    image[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mr(image)
    with pytest.raises(ValueError, match="NaN"):
        mr(np.full((20, 30, 3), np.nan, np.float32))
    assert mr(np.nan_to_num(image)).shape == (40, 56)  # the neighbour: a finite float image


def test_16_bit_and_float_pil_images_give_the_maps_their_files_give(mr, tmp_path):
    grey = photo().mean(axis=2)
    deep = np.round(grey * 257).astype(np.uint16)  # the full 16-bit range
    path = tmp_path / "deep.png"
    Image.fromarray(deep).save(path)
    by_path = mr(str(path))
    assert by_path.max() > by_path.min()  # a real map, not a flat one
    for mode in ("I;16", "I"):
        pil = Image.open(path)
        pil = pil if mode == "I;16" else pil.convert("I")
        assert pil.mode == mode
        np.testing.assert_array_equal(mr(pil), by_path)
    as_float = Image.fromarray((grey / 255.0).astype(np.float32), mode="F")
    np.testing.assert_array_equal(mr(as_float), mr(np.round(grey).astype(np.uint8)))


def test_render_reads_a_uint8_map_as_0_to_255(tmp_path):
    image = photo()
    levels = np.tile(np.arange(56, dtype=np.uint8) * 4, (40, 1))  # 0..220, a ramp
    rgba = weaksal.render("rgba", image, levels)
    np.testing.assert_array_equal(rgba[:, :, 3], levels)  # alpha is the map, not all white
    np.testing.assert_array_equal(rgba[:, :, :3], image)
    as_float = weaksal.render("rgba", image, levels.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(as_float, rgba)  # the neighbour: the same map as floats
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)  # and a path or a PIL image for the photo
    np.testing.assert_array_equal(weaksal.render("rgba", str(path), levels), rgba)
    np.testing.assert_array_equal(weaksal.render("rgba", Image.open(path), levels), rgba)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        weaksal.render("rgba", image, levels.astype(np.float32))  # float 0..255: refused


def test_lps_priors_of_any_depth_are_scaled_not_clipped():
    lps = weaksal.load("lps")
    image = photo((48, 64))
    prior = np.zeros((48, 64), np.uint8)
    prior[12:36, 16:48] = 200
    from_uint8 = lps(image, prior)
    from_uint16 = lps(image, prior.astype(np.uint16) * 257)
    np.testing.assert_allclose(from_uint16, from_uint8, atol=1 / 255)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        lps(image, prior.astype(np.float32))  # 0..200 as floats: which range? refused
    np.testing.assert_allclose(lps(image, prior / 255.0), from_uint8, atol=1 / 255)


def test_arrays_whose_layout_cannot_be_told_are_refused_by_name(mr):
    with pytest.raises(ValueError, match="channels-first"):
        mr(np.transpose(photo(), (2, 0, 1)))
    with pytest.raises(ValueError, match="empty"):
        mr(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError, match="0..255"):
        mr(photo().astype(np.int32) * 4)  # an int image outside 0..255
    tall = np.zeros((3, 100, 3), np.uint8)  # the documented rule: the last axis of 3 is colour
    tall[1, 40:60] = 255
    assert mr(tall).shape == (3, 100)
