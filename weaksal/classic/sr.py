"""Spectral-residual saliency (Hou & Zhang, CVPR 2007): a cheap, training-free baseline.

The log amplitude spectrum minus its local average (the "spectral residual"),
recombined with the phase, marks what is unexpected in the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from weaksal.classic._registry import DETECTORS

WORKING_WIDTH = 64  # the paper works on images downsampled to 64 px wide


@DETECTORS.register("sr", reference="Hou & Zhang, CVPR 2007")
def spectral_residual(image: np.ndarray, blur_sigma: float = 3.0) -> np.ndarray:
    """Spectral-residual saliency map of an RGB image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    blur_sigma : float, optional
        Sigma of the Gaussian smoothing the map, in working pixels (the paper's sigma 8
        refers to its display scale).

    Returns
    -------
    (H, W) uint8 ndarray
        Saliency scaled to 0..255; all zeros for a flat image.

    Notes
    -----
    The map is computed on a 64-px-wide grey copy, smoothed, and resized back with
    bilinear interpolation.

    References
    ----------
    .. [1] Hou & Zhang, CVPR 2007 (the spectral residual).
    """
    height, width = image.shape[:2]
    small_height = max(1, round(height * WORKING_WIDTH / width))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    grey = cv2.resize(grey, (WORKING_WIDTH, small_height), interpolation=cv2.INTER_AREA)
    if np.ptp(grey) < 1e-3:  # a flat image has nothing salient (and only rounding noise)
        return np.zeros((height, width), np.uint8)
    spectrum = np.fft.fft2(grey)
    log_amplitude = np.log(np.abs(spectrum) + 1e-12)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3), borderType=cv2.BORDER_REPLICATE)
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = cv2.GaussianBlur(saliency, (0, 0), blur_sigma)
    saliency = cv2.resize(saliency, (width, height), interpolation=cv2.INTER_LINEAR)
    top, bottom = saliency.max(), saliency.min()
    if top <= bottom:
        return np.zeros((height, width), np.uint8)
    return np.rint((saliency - bottom) / (top - bottom) * 255).astype(np.uint8)
