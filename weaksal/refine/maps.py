"""Saliency maps as refinement inputs: one convention for every refiner."""

from __future__ import annotations

import cv2
import numpy as np


def probability_map(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map as float32 in [0, 1] at ``shape`` (H, W).

    uint8 maps are divided by 255; float maps are taken as probabilities and
    clipped to [0, 1]; a map of another size is resized bilinearly.
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
