"""Shared material for refinement tests: a synthetic scene and degraded ground truth."""

from __future__ import annotations

import cv2
import numpy as np


def synthetic_scene(height: int = 120, width: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A red disc on a smooth green-grey background, and its 0/255 mask."""
    yy, xx = np.mgrid[:height, :width]
    mask = (((yy - height / 2) ** 2 + (xx - width / 2) ** 2) < (height / 4) ** 2).astype(
        np.uint8
    ) * 255
    background = np.stack([90 + 0.2 * xx, 130 + 0.1 * yy, 100 + 0 * xx], axis=-1)
    image = np.where(mask[..., None] > 0, np.array([210.0, 40.0, 40.0]), background)
    return image.astype(np.uint8), mask


def coarse_map(gt: np.ndarray, seed: int) -> np.ndarray:
    """Blurred, 1/16-resolution, noisy ground truth: a typical coarse network map."""
    rng = np.random.default_rng(seed)
    height, width = gt.shape
    small = cv2.resize(
        cv2.GaussianBlur(gt, (0, 0), 12), (max(width // 16, 1), max(height // 16, 1))
    )
    noisy = cv2.resize(small, (width, height)).astype(float) + rng.normal(0, 40, gt.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)
