"""Saliency maps as refinement inputs: one convention for every refiner."""

from __future__ import annotations

import cv2
import numpy as np


def probability_map(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map as float32 in [0, 1] at ``shape`` (H, W).

    Every refiner reads its input through this, so that a map means the same to all of
    them whether it comes from a PNG or straight from a network.

    Parameters
    ----------
    saliency : (h, w) or (h, w, C) ndarray
        uint8 maps are divided by 255; float maps are taken as probabilities and clipped
        to [0, 1]; of a (h, w, C) array the first channel is used.
    shape : (int, int)
        ``(H, W)`` wanted; a map of another size is resized bilinearly.

    Returns
    -------
    (H, W) float32 ndarray

    Examples
    --------
    >>> import numpy as np
    >>> probability_map(np.array([[0, 255]], np.uint8), (1, 2))
    array([[0., 1.]], dtype=float32)
    >>> probability_map(np.array([[-0.5, 2.0]]), (1, 2))
    array([[0., 1.]], dtype=float32)
    """
    saliency = np.asarray(saliency)
    if saliency.ndim == 3:
        saliency = saliency[..., 0]
    if saliency.dtype == np.uint8:
        saliency = saliency.astype(np.float32) / 255.0
    saliency = np.clip(saliency.astype(np.float32), 0.0, 1.0)
    if saliency.shape != tuple(shape):
        saliency = cv2.resize(saliency, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return saliency
