"""Fully connected CRF (Kraehenbuehl & Koltun, NIPS 2011) on pydensecrf2, with the
presets of the original code of the methods that use it.

* ``mws`` (MWS pseudo-labels, ``crf.py``): unary -log(p) of [1-p, p];
  Gaussian sxy 3 compat 3; bilateral sxy 80, srgb 13, compat 10; 5 steps; argmax.
* ``ssnet`` (SSNet stage-2 pseudo-labels): the same kernels over C+1 semantic
  labels from a softmax; argmax.
* ``jsm`` (JSM label update, ``dense_hsal.py``): image and map at 256x256;
  U_fg = -log(a + eps) / (tau * sigmoid(a)), U_bg likewise with 1 - a,
  tau 1.05; Gaussian 3/3; bilateral sxy 60, srgb 5, compat 5; 1 step; soft
  foreground probability (resized back to the image here).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pydensecrf.densecrf as dcrf

from weaksal.refine.maps import probability_map

EPS = 1e-8


@dataclass(frozen=True)
class CRFPreset:
    """The kernels and inference settings of one method's dense CRF (:data:`PRESETS`).

    A method's pseudo-labels depend on these numbers, so each method keeps its own
    original code's, instead of one shared setting.

    Attributes
    ----------
    gaussian_sxy, gaussian_compat : float
        Spatial sigma (pixels) and Potts weight of the smoothness kernel.
    bilateral_sxy, bilateral_srgb, bilateral_compat : float
        Spatial sigma (pixels), colour sigma (RGB levels) and Potts weight of the
        appearance kernel.
    iterations : int
        Mean-field steps.
    soft : bool
        Return the foreground probability instead of the argmax.
    size : int or None
        Run at ``size`` x ``size``, as JSM does; None: at the image size.
    tau : float or None
        JSM's unary temperature; None: plain ``-log(p)`` unaries.
    """

    gaussian_sxy: float
    gaussian_compat: float
    bilateral_sxy: float
    bilateral_srgb: float
    bilateral_compat: float
    iterations: int
    soft: bool = False
    size: int | None = None
    tau: float | None = None


PRESETS: dict[str, CRFPreset] = {
    "mws": CRFPreset(3, 3, 80, 13, 10, iterations=5),
    "ssnet": CRFPreset(3, 3, 80, 13, 10, iterations=5),
    "jsm": CRFPreset(3, 3, 60, 5, 5, iterations=1, soft=True, size=256, tau=1.05),
}


def crf_inference(image: np.ndarray, unary: np.ndarray, preset: CRFPreset) -> np.ndarray:
    """Mean-field inference; ``unary`` is (C, H, W) energy. Returns Q, (C, H, W) float32."""
    labels, height, width = unary.shape
    model = dcrf.DenseCRF2D(width, height, labels)
    model.setUnaryEnergy(np.ascontiguousarray(unary.reshape(labels, -1), dtype=np.float32))
    model.addPairwiseGaussian(sxy=preset.gaussian_sxy, compat=preset.gaussian_compat)
    model.addPairwiseBilateral(
        sxy=preset.bilateral_sxy,
        srgb=preset.bilateral_srgb,
        rgbim=np.ascontiguousarray(image, dtype=np.uint8),
        compat=preset.bilateral_compat,
    )
    return np.asarray(model.inference(preset.iterations), np.float32).reshape(labels, height, width)


def _preset(preset: str | CRFPreset) -> CRFPreset:
    if isinstance(preset, CRFPreset):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown CRF preset {preset!r}; choose from {sorted(PRESETS)}")
    return PRESETS[preset]


def refine_saliency(
    image: np.ndarray, saliency: np.ndarray, preset: str | CRFPreset = "mws"
) -> np.ndarray:
    """Two-label dense CRF refinement of a saliency map into a pseudo-label.

    The CRF pulls the map's boundary onto the image's colour edges: pixels of similar
    colour and position are pushed towards the same label.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    saliency : (h, w) uint8 or float ndarray
        Map to refine, uint8 or float in [0, 1], of any size (resized to the image).
    preset : str or CRFPreset, optional
        ``"mws"``, ``"ssnet"`` or ``"jsm"`` (:data:`PRESETS`; see the module docstring),
        or settings of one's own.

    Returns
    -------
    (H, W) uint8 ndarray
        0/255 (argmax), or with a ``soft`` preset (``jsm``) the foreground probability
        scaled to 0..255.

    Raises
    ------
    ValueError
        For an unknown preset name.

    References
    ----------
    .. [1] P. Kraehenbuehl and V. Koltun, "Efficient Inference in Fully Connected CRFs
       with Gaussian Edge Potentials", NIPS 2011.
    """
    preset = _preset(preset)
    height, width = image.shape[:2]
    probability = probability_map(saliency, (height, width))
    work_image = image
    if preset.size:
        work_image = cv2.resize(image, (preset.size, preset.size), interpolation=cv2.INTER_LINEAR)
        probability = cv2.resize(
            probability, (preset.size, preset.size), interpolation=cv2.INTER_LINEAR
        )
    if preset.tau is not None:  # JSM: confidence-scaled unaries
        sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
        unary = np.stack(
            [
                -np.log(1 - probability + EPS) / (preset.tau * sigmoid(1 - probability)),
                -np.log(probability + EPS) / (preset.tau * sigmoid(probability)),
            ]
        )
    else:
        unary = -np.log(np.clip(np.stack([1 - probability, probability]), EPS, 1.0))
    q = crf_inference(work_image, unary, preset)
    if preset.soft:
        out = q[1]
        if out.shape != (height, width):
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)
    return np.where(q.argmax(axis=0) == 1, 255, 0).astype(np.uint8)


def refine_segmentation(
    image: np.ndarray, probabilities: np.ndarray, preset: str | CRFPreset = "ssnet"
) -> np.ndarray:
    """Multi-label dense CRF on class probabilities: SSNet's stage-2 pseudo-labels.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    probabilities : (C, H, W) float ndarray
        A softmax over C labels (background included), at the image size.
    preset : str or CRFPreset, optional
        Kernel settings; ``"ssnet"``, the released SSNet code's, by default.

    Returns
    -------
    (H, W) uint8 ndarray
        Label map: the argmax of the CRF's marginals.

    Raises
    ------
    ValueError
        If the probabilities and the image differ in size, or for an unknown preset.

    References
    ----------
    .. [1] P. Kraehenbuehl and V. Koltun, "Efficient Inference in Fully Connected CRFs
       with Gaussian Edge Potentials", NIPS 2011.
    """
    preset = _preset(preset)
    probabilities = np.asarray(probabilities, np.float32)
    if probabilities.shape[1:] != image.shape[:2]:
        raise ValueError(
            f"probabilities {probabilities.shape[1:]} and image {image.shape[:2]} differ in size"
        )
    unary = -np.log(np.clip(probabilities, EPS, 1.0))
    return crf_inference(image, unary, preset).argmax(axis=0).astype(np.uint8)
