"""MB+ (Zhang et al., ICCV 2015): the FastMBD scan against hand-computed barriers and a
line-by-line sequential scan, the morphology against scikit-image, the detector on
synthetic scenes and on real ECSSD images."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.morphology import reconstruction

from weaksal.classic.mbplus import (
    centre_weight,
    frame_margins,
    mbplus,
    minimum_barrier_distance,
    reconstruct_by_dilation,
)


def sequential_scan(channel: np.ndarray, passes: int = 3) -> np.ndarray:
    """FastMBD as the reference C++ writes it: one pixel at a time, in raster order."""
    values = channel.astype(int)
    height, width = values.shape
    distance = np.zeros((height, width))
    distance[1:-1, 1:-1] = np.inf
    high, low = values.copy(), values.copy()
    for scan in range(passes):
        step = -1 if scan % 2 else 1
        rows = range(1, height - 1)[::step]
        cols = range(1, width - 1)[::step]
        for r in rows:
            for c in cols:
                v = values[r, c]
                for nr, nc in ((r, c - step), (r - step, c)):  # horizontal first, as MBS.cpp
                    barrier = max(v, high[nr, nc]) - min(v, low[nr, nc])
                    if barrier < distance[r, c]:
                        distance[r, c] = barrier
                        high[r, c], low[r, c] = max(v, high[nr, nc]), min(v, low[nr, nc])
    return distance


def test_mbd_of_a_bright_blob_is_its_height_above_the_background():
    # a 200 peak on a 50 plateau in a 10 image: every path from the border climbs from 10
    image = np.full((5, 5), 10, np.uint8)
    image[1:4, 1:4] = 50
    image[2, 2] = 200
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 40
    expected[2, 2] = 190
    assert np.array_equal(minimum_barrier_distance(image), expected)


def test_mbd_takes_the_lowest_barrier_path_and_needs_the_backward_scan():
    # Interior 50, 200, 60 between a 90 left/right border and a 0 top/bottom border.
    # 50 and 60 are best reached from the 90 sides (barriers 40, 30); 200 is best reached
    # through 60 from the right (max 200 - min 60 = 140), which only the backward scan sees.
    image = np.zeros((3, 5), np.uint8)
    image[1] = [90, 50, 200, 60, 90]
    assert np.array_equal(minimum_barrier_distance(image)[1], [0, 40, 140, 30, 0])
    assert np.array_equal(minimum_barrier_distance(image, passes=1)[1], [0, 40, 150, 60, 0])
    assert not minimum_barrier_distance(image)[[0, 2]].any()  # border pixels are seeds


def test_mbd_sums_channels():
    image = np.full((5, 5), 10, np.uint8)
    image[2, 2] = 200
    stacked = np.stack([image, np.full_like(image, 7), image // 2], axis=-1)
    single = minimum_barrier_distance(image)
    assert single[2, 2] == 190
    assert np.array_equal(
        minimum_barrier_distance(stacked), single + minimum_barrier_distance(image // 2)
    )


@pytest.mark.parametrize("passes", [1, 2, 3, 4])
def test_mbd_equals_the_sequential_raster_scan_exactly(passes):
    rng = np.random.default_rng(passes)
    for _ in range(25):
        height, width = rng.integers(3, 12, size=2)
        levels = int(rng.integers(2, 256))  # few levels: many ties, which the order decides
        image = rng.integers(0, levels, (height, width, 2)).astype(np.uint8)
        expected = sequential_scan(image[..., 0], passes) + sequential_scan(image[..., 1], passes)
        assert np.array_equal(minimum_barrier_distance(image, passes), expected)


def test_reconstruction_matches_scikit_image():
    rng = np.random.default_rng(0)
    mask = (rng.random((60, 80)) * 255).astype(np.uint8)
    mask = np.maximum(mask, np.roll(mask, 1, axis=1))  # some plateaus and ridges
    marker = np.minimum(mask, rng.integers(0, 256, mask.shape).astype(np.uint8) // 2)
    expected = reconstruction(marker, mask, method="dilation").astype(np.uint8)
    assert np.array_equal(reconstruct_by_dilation(marker, mask), expected)


def test_centre_weight_is_one_at_the_centre_and_zero_at_the_corners():
    weight = centre_weight((225, 300))
    assert weight[112, 150] == pytest.approx(1, abs=0.01)
    assert weight[0, 0] == pytest.approx(0, abs=0.01)
    assert weight[-1, -1] == pytest.approx(0, abs=0.01)
    assert np.allclose(weight, weight[::-1, ::-1], atol=0.01)


def scene(textured: bool, frame: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red ellipse in the middle of a green-grey background (noisy if ``textured``)."""
    height, width = 240, 320
    image = np.empty((height, width, 3))
    image[:] = (70, 120, 90)
    if textured:
        image += np.random.default_rng(0).normal(0, 20, image.shape)
    yy, xx = np.mgrid[:height, :width]
    inside = ((yy - height / 2) / (height / 4)) ** 2 + ((xx - width / 2) / (width / 5)) ** 2 < 1
    image[inside] = (220, 60, 50)
    if frame:
        image[:frame] = image[-frame:] = image[:, :frame] = image[:, -frame:] = 0
    return np.clip(image, 0, 255).astype(np.uint8), inside


@pytest.mark.parametrize(("textured", "frame"), [(False, 0), (True, 0), (True, 6)])
def test_object_is_salient_and_background_is_not(textured, frame):
    image, inside = scene(textured, frame)
    saliency = mbplus(image)
    assert saliency.dtype == np.uint8 and saliency.shape == inside.shape
    assert saliency.min() == 0 and saliency.max() == 255
    # measured: object about 233, background about 20
    assert saliency[inside].mean() > 200
    assert saliency[~inside].mean() < 40


def test_artificial_frame_is_found():
    image, _ = scene(textured=True, frame=6)
    top, bottom, left, right = frame_margins(image)
    assert top == bottom == left == right > 6  # the reference adds a safety margin
    assert frame_margins(scene(textured=True)[0]) == (0, 0, 0, 0)


def test_deterministic_and_input_untouched():
    image, _ = scene(textured=True)
    copy = image.copy()
    assert np.array_equal(mbplus(image), mbplus(image))
    assert np.array_equal(image, copy)


def test_flat_image_gives_an_empty_map():
    assert not mbplus(np.full((40, 50, 3), 120, np.uint8)).any()


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError, match="RGB uint8"):
        mbplus(np.zeros((20, 20), np.uint8))


def centre_prior(shape: tuple[int, int]) -> np.ndarray:
    """A Gaussian blob in the middle (sigma a quarter of each side): the trivial baseline."""
    height, width = shape
    yy, xx = np.mgrid[:height, :width]
    blob = np.exp(
        -(
            ((yy - (height - 1) / 2) / (height / 4)) ** 2
            + ((xx - (width - 1) / 2) / (width / 4)) ** 2
        )
        / 2
    )
    return np.rint(blob / blob.max() * 255).astype(np.uint8)


@pytest.mark.data
def test_beats_a_centre_prior_on_real_images(real_data):
    from weaksal.data import index_saliency, read_image, read_mask
    from weaksal.metrics import SaliencyEvaluator

    samples = list(index_saliency(real_data / "ECSSD"))[::50]  # 20 images: 0001, 0051, ...
    ours = SaliencyEvaluator(maxf="pooled", structure=False)
    prior = SaliencyEvaluator(maxf="pooled", structure=False)
    for sample in samples:
        image, gt = read_image(sample.image), read_mask(sample.mask)
        ours.step(mbplus(image), gt)
        prior.step(centre_prior(gt.shape), gt)
    # measured: MB+ max F 0.749 (MAE 0.186), centre prior 0.517 (MAE 0.303);
    # on all of ECSSD MB+ gives 0.735, the paper 0.736
    assert len(ours) == 20
    assert ours.results()["maxf"] > 0.70
    assert ours.results()["maxf"] > prior.results()["maxf"] + 0.15
