"""Real, varied prediction maps for oracle tests, made from real images and masks."""

from __future__ import annotations

import cv2
import numpy as np

from weaksal.classic.ft import frequency_tuned


def varied_maps(image: np.ndarray, gt: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Named uint8 maps of the same size as ``gt`` covering the hard cases."""
    rng = np.random.default_rng(seed)
    height, width = gt.shape
    blurred = cv2.GaussianBlur(gt, (0, 0), sigmaX=6)
    shifted = np.roll(
        blurred, (int(rng.integers(-15, 15)), int(rng.integers(-15, 15))), axis=(0, 1)
    )
    noisy = np.clip(gt.astype(np.int16) + rng.normal(0, 60, gt.shape), 0, 255).astype(np.uint8)
    low_range = (blurred // 4 + 40).astype(np.uint8)  # min-max normalisation matters
    small = cv2.resize(
        cv2.resize(gt, (width // 8, height // 8), interpolation=cv2.INTER_AREA), (width, height)
    )
    return {
        "ft": frequency_tuned(image),
        "blur_shift": shifted,
        "noisy": noisy,
        "low_range": low_range,
        "coarse": small,
        "gt": gt.copy(),
        "constant": np.full(gt.shape, 128, np.uint8),
        "empty": np.zeros(gt.shape, np.uint8),
        "full": np.full(gt.shape, 255, np.uint8),
    }
