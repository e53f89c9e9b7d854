"""Frequency-tuned saliency (Achanta et al., CVPR 2009).

Saliency is the Lab distance between the image's mean colour and each pixel
of a slightly blurred copy: a cheap, deterministic baseline.
"""

from __future__ import annotations

import cv2
import numpy as np

from weaksal.classic._registry import DETECTORS


@DETECTORS.register("ft", reference="Achanta et al., CVPR 2009")
def frequency_tuned(image: np.ndarray) -> np.ndarray:
    """Saliency map of an RGB uint8 image, as uint8 (H, W) scaled to 0..255.

    The blur is the paper's 5x5 binomial kernel; colours are converted with
    OpenCV's float sRGB (D65) to CIE Lab.
    """
    rgb = np.asarray(image, dtype=np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    mean = lab.reshape(-1, 3).mean(axis=0)
    binomial = np.array([1, 4, 6, 4, 1], np.float32) / 16
    blurred = cv2.sepFilter2D(lab, -1, binomial, binomial, borderType=cv2.BORDER_REFLECT)
    saliency = np.sqrt(((blurred - mean) ** 2).sum(axis=2))
    top = saliency.max()
    if top < 0.1:  # no colour differs visibly (Delta E < 0.1) from the mean: nothing is salient
        return np.zeros(saliency.shape, np.uint8)
    return np.rint(saliency / top * 255).astype(np.uint8)
