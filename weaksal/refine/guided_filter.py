"""The guided filter: a saliency map's edges moved onto the image's own edges.

A network's map is computed at its square input size and resized back, so
its edges are soft and a few pixels off the object's; as a cut-out's alpha it
leaves halos. The guided filter (He, Sun and Tang) fits, in every window, the
map as a linear function of the image's colours, so the output follows the
image's edges while keeping the map's values elsewhere: a cheap edge-aware
refinement (a few box filters), used for cut-outs.
"""

from __future__ import annotations

import cv2
import numpy as np


def guided_filter(
    image: np.ndarray, saliency: np.ndarray, radius: int | None = None, eps: float = 1e-3
) -> np.ndarray:
    """The map ``saliency`` filtered with the colour image as guide (He et al., Eq. 19-21).

    Parameters
    ----------
    image : numpy.ndarray
        The guide, ``uint8 (H, W, 3)`` RGB.
    saliency : numpy.ndarray
        ``float (H, W)`` in [0, 1], the map to refine.
    radius : int, optional
        Window radius r (windows of (2r + 1)^2 pixels); default 1.5% of the
        longer side, at least 2, so the correction reaches as far as a resized
        map's edges stray.
    eps : float
        The regulariser epsilon of Eq. 19 (on colours in [0, 1]): smaller keeps
        weaker image edges.

    Returns
    -------
    numpy.ndarray
        ``float32 (H, W)`` in [0, 1].

    References
    ----------
    K. He, J. Sun and X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013
    (ECCV 2010); the colour-guide form, Sec. 3.5.

    Examples
    --------
    >>> image = np.zeros((32, 32, 3), np.uint8); image[8:24, 8:24] = 255
    >>> blurry = cv2.GaussianBlur((image[..., 0] / 255.0).astype(np.float32), (0, 0), 3)
    >>> sharp = guided_filter(image, blurry, radius=4, eps=1e-4)
    >>> bool(abs(sharp[16, 9] - 1) < abs(blurry[16, 9] - 1))   # the edge pixel is pulled in
    True
    """
    height, width = saliency.shape
    if image.shape[:2] != (height, width):
        raise ValueError(f"the guide is {image.shape[:2]} but the map {saliency.shape}")
    r = radius if radius is not None else max(2, round(0.015 * max(height, width)))
    guide = image.astype(np.float32) / 255.0
    p = saliency.astype(np.float32)

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)

    mean_i = mean(guide)  # (H, W, 3)
    mean_p = mean(p)
    cov_ip = (
        np.stack([mean(guide[..., c] * p) for c in range(3)], axis=-1) - mean_i * mean_p[..., None]
    )
    sigma = np.empty((height, width, 3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            value = mean(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
            sigma[..., a, b] = sigma[..., b, a] = value
    sigma += eps * np.eye(3, dtype=np.float32)
    coefficients = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]  # a_k, Eq. 19
    offset = mean_p - (coefficients * mean_i).sum(axis=-1)  # b_k, Eq. 20
    mean_a = np.stack([mean(coefficients[..., c]) for c in range(3)], axis=-1)
    refined = (mean_a * guide).sum(axis=-1) + mean(offset)  # q_i, Eq. 21
    return np.clip(refined, 0.0, 1.0).astype(np.float32)
