"""Unsupervised (handcrafted) salient object detectors, by name.

Each detector maps an RGB uint8 image (H, W, 3) to a uint8 saliency map (H, W)
and registers itself in :data:`DETECTORS` where it is defined (``mr``,
``mbplus``, ``rbd``, ``ft``, ``sr``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from weaksal.classic._registry import DETECTORS


def get_detector(name: str) -> Callable[[np.ndarray], np.ndarray]:
    return DETECTORS.get(name).target


__all__ = ["DETECTORS", "get_detector"]
