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
    """The detector function registered as ``name``.

    Parameters
    ----------
    name : str
        ``"mr"``, ``"mbplus"``, ``"rbd"``, ``"ft"`` or ``"sr"``.

    Returns
    -------
    callable
        ``detector(image)``: RGB uint8 (H, W, 3) to uint8 (H, W) saliency, with the
        defaults of its original code.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the choices.

    Examples
    --------
    >>> import numpy as np
    >>> get_detector("ft")(np.zeros((4, 6, 3), np.uint8)).shape  # flat: nothing salient
    (4, 6)
    """
    return DETECTORS.get(name).target


__all__ = ["DETECTORS", "get_detector"]
