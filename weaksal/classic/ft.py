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
    """Frequency-tuned saliency map of an RGB image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.

    Returns
    -------
    (H, W) uint8 ndarray
        Saliency scaled to 0..255; all zeros when no colour differs visibly (Delta E
        < 0.1) from the mean.

    Notes
    -----
    The blur is the paper's 5x5 binomial kernel; colours are converted with
    OpenCV's float sRGB (D65) to CIE Lab.

    References
    ----------
    .. [1] R. Achanta, S. Hemami, F. Estrada and S. Susstrunk, "Frequency-tuned Salient
       Region Detection", CVPR 2009.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((8, 8, 3), 128, np.uint8)
    >>> image[3:5, 3:5] = (255, 0, 0)  # a red square on grey
    >>> saliency = frequency_tuned(image)
    >>> saliency.shape, saliency.dtype.name, int(saliency.max())
    ((8, 8), 'uint8', 255)
    >>> bool(saliency[3:5, 3:5].min() > saliency[0].max())  # the square stands out
    True
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
