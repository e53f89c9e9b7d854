"""Unsupervised (handcrafted) salient object detectors, by name.

Each detector maps an RGB uint8 image (H, W, 3) to a uint8 saliency map (H, W).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

#: name -> (module, function, reference)
DETECTORS: dict[str, tuple[str, str, str]] = {
    "mr": (
        "weaksal.refine.manifold_ranking",
        "manifold_ranking_saliency",
        "Yang et al., CVPR 2013",
    ),
    "mbplus": ("weaksal.classic.mbplus", "mbplus", "Zhang et al., ICCV 2015"),
    "rbd": ("weaksal.classic.rbd", "rbd", "Zhu et al., CVPR 2014"),
    "ft": ("weaksal.classic.ft", "frequency_tuned", "Achanta et al., CVPR 2009"),
    "sr": ("weaksal.classic.sr", "spectral_residual", "Hou & Zhang, CVPR 2007"),
}


def get_detector(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
    module, function, _ = DETECTORS[name]
    return getattr(importlib.import_module(module), function)
