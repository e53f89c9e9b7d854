import numpy as np
import pytest

from tests.refine.helpers import synthetic_scene
from weaksal.classic import DETECTORS, get_detector
from weaksal.classic.ft import frequency_tuned
from weaksal.classic.sr import spectral_residual


@pytest.mark.parametrize("detector", [frequency_tuned, spectral_residual])
def test_cheap_baselines_find_the_synthetic_object(detector):
    image, mask = synthetic_scene()
    saliency = detector(image)
    assert saliency.dtype == np.uint8 and saliency.shape == mask.shape
    assert saliency.max() == 255
    assert saliency[mask > 0].mean() > 2 * saliency[mask == 0].mean()
    assert np.array_equal(saliency, detector(image))


def test_flat_image_gives_an_empty_map():
    flat = np.full((40, 50, 3), 120, np.uint8)
    assert not frequency_tuned(flat).any() and not spectral_residual(flat).any()


def test_registry():
    assert set(DETECTORS) == {"mr", "mbplus", "rbd", "ft", "sr"}
    assert get_detector("ft") is frequency_tuned
    with pytest.raises(ValueError, match="unknown detector"):
        get_detector("xyz")
