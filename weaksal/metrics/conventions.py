"""The evaluation conventions, all in one place.

Default: identical to PySODMetrics 1.6.2, the de-facto Python reference.

* Ground truth: ``gt > 128`` on a uint8 grey mask. A boolean mask is used as
  is, and a uint8 mask holding only 0 and 1 is read as 0/255 (PySODMetrics
  silently reads both as all background).
* Prediction: a uint8 map, divided by 255 and min-max normalised per image
  unless constant (MATLAB's ``mapminmax(im2double(.))``). Float maps in
  [0, 1] are first quantised to 8 bits, as when saved as PNG.
* Dynamic thresholds: the normalised map is truncated to uint8
  (``(x * 255).astype(uint8)``) and binarised with ``>=`` at t = 0..255.
* Adaptive threshold: ``min(2 * mean, 1)`` on the normalised map, ``>=``.
  Binary mode: ``> 0.5`` on the normalised map.
* Dataset curves: the mean of the per-image curves; max-F is the maximum of
  that mean curve (``maxf="mean"``). ``maxf="pooled"`` (MATLAB SOD toolbox,
  MWS/LPS/SSNet evaluation code) first averages precision and recall over
  images, then computes F per threshold and takes the maximum, with 256
  thresholds or the 21 thresholds ``linspace(0, 1, 21)`` on the normalised
  map (``>=``).

Because every quantity depends on the prediction only through its 256 grey
levels, everything is computed from the per-level histogram split by ground
truth, through 256-entry look-up tables that repeat the reference's float
operations level by level: the numbers match, at a fraction of the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = np.spacing(1)  # MATLAB's eps, as the reference uses
GT_THRESHOLD = 128
LEVELS = np.arange(256, dtype=np.float64)


def as_prediction(pred: np.ndarray) -> np.ndarray:
    """A predicted map as the uint8 (H, W) map the reference reads from its PNG.

    Every metric depends on the map through its 256 grey levels only, so a float map is
    first quantised as a PNG would store it: the numbers are those of the saved map.

    Parameters
    ----------
    pred : (H, W) or (H, W, C) ndarray
        uint8 map, bool mask (True = 255) or float map in [0, 1]; of a (H, W, C) array
        with 1, 3 or 4 channels the first channel is used.

    Returns
    -------
    (H, W) uint8 ndarray

    Raises
    ------
    ValueError
        If the map is not 2-D, or a float map is outside [0, 1] or holds NaN.
    TypeError
        For any other dtype.

    Examples
    --------
    >>> import numpy as np
    >>> as_prediction(np.array([[0.0, 0.5, 1.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    """
    pred = np.asarray(pred)
    if pred.ndim == 3 and pred.shape[2] in (1, 3, 4):
        pred = pred[..., 0]
    if pred.ndim != 2:
        raise ValueError(f"prediction must be a 2-D map, got shape {pred.shape}")
    if pred.dtype == np.uint8:
        return pred
    if pred.dtype == bool:
        return pred.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(pred.dtype, np.floating):
        if pred.size and (np.nanmin(pred) < 0 or np.nanmax(pred) > 1 or np.isnan(pred).any()):
            raise ValueError("a float prediction must lie in [0, 1] without NaN")
        return np.rint(pred * 255).astype(np.uint8)
    raise TypeError(f"unsupported prediction dtype {pred.dtype}; give uint8 or float in [0, 1]")


def as_ground_truth(gt: np.ndarray) -> np.ndarray:
    """A ground-truth mask as boolean (H, W): ``gt > 128``, as PySODMetrics reads it.

    A bool mask is used as is, and a mask whose maximum is 1 is read as 0/255
    (PySODMetrics silently reads both as all background).

    Parameters
    ----------
    gt : (H, W) or (H, W, C) ndarray
        uint8 grey mask, 0/1 mask or bool mask; of a (H, W, C) array the first channel
        is used.

    Returns
    -------
    (H, W) bool ndarray

    Examples
    --------
    >>> import numpy as np
    >>> as_ground_truth(np.array([[0, 128, 255]], np.uint8))
    array([[False, False,  True]])
    >>> as_ground_truth(np.array([[0, 1]], np.uint8))
    array([[False,  True]])
    """
    gt = np.asarray(gt)
    if gt.ndim == 3:
        gt = gt[..., 0]
    if gt.dtype == bool:
        return gt
    if gt.size and gt.max() == 1:
        return gt == 1
    return gt > GT_THRESHOLD


@dataclass(frozen=True)
class Normalisation:
    """How each of the 256 raw grey levels maps through the reference's normalisation.

    Attributes
    ----------
    value : (256,) float64 ndarray
        The normalised value of each raw level.
    level : (256,) intp ndarray
        That value truncated to uint8, for the dynamic thresholds.
    """

    value: np.ndarray
    level: np.ndarray


def normalisation(pred: np.ndarray) -> Normalisation:
    """Per-level normalised values, repeating ``pred / 255`` then min-max exactly.

    A look-up table instead of a normalised copy of the map: each of the 256 levels goes
    through the reference's float operations once, so every derived number matches the
    reference's per-pixel computation.

    Parameters
    ----------
    pred : (H, W) uint8 ndarray
        The map, as :func:`as_prediction` returns it.

    Returns
    -------
    Normalisation
        The map's levels divided by 255, then min-max normalised unless the map is
        constant, as the reference.

    Examples
    --------
    >>> import numpy as np
    >>> table = normalisation(np.array([[51, 102]], np.uint8))
    >>> table.value[[51, 102]], table.level[[51, 102]]
    (array([0., 1.]), array([  0, 255]))
    """
    low, high = int(pred.min()), int(pred.max())
    scaled = np.clip(LEVELS, low, high) / 255  # levels outside [low, high] never occur
    if high != low:
        low_value, high_value = low / 255, high / 255
        scaled = (scaled - low_value) / (high_value - low_value)
    return Normalisation(scaled, (scaled * 255).astype(np.uint8).astype(np.intp))


def convention_text(results: dict) -> str:
    """The max-F convention of a saliency result, in words (every table names it).

    The conventions give different max-F on the same maps, so a number that does not
    say which one it used cannot be compared with another.

    Parameters
    ----------
    results : dict
        What :meth:`~weaksal.metrics.evaluator.SaliencyEvaluator.results` returned.

    Returns
    -------
    str
        For example ``"max-F mean (max of the mean per-image F curve, PySODMetrics), 256
        thresholds, beta^2 0.3"``; empty for a result without a convention (segmentation).
    """
    convention = results.get("convention")
    if not convention:
        return ""
    if convention["maxf"] == "pooled":
        how = "pooled (F of dataset-mean precision and recall, MATLAB toolbox)"
    else:
        how = "mean (max of the mean per-image F curve, PySODMetrics)"
    return f"max-F {how}, {convention['thresholds']} thresholds, beta^2 {convention['beta2']}"
