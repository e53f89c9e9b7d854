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
    """A uint8 (H, W) map; floats in [0, 1] are quantised as a PNG would store them."""
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
    """Boolean (H, W) ground truth (see the module docstring)."""
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
    """How each of the 256 raw grey levels maps through the reference's normalisation."""

    value: np.ndarray  # float64 (256,): the normalised value of each raw level
    level: np.ndarray  # intp (256,): that value truncated to uint8, for dynamic thresholds


def normalisation(pred: np.ndarray) -> Normalisation:
    """Per-level normalised values, repeating ``pred / 255`` then min-max exactly."""
    low, high = int(pred.min()), int(pred.max())
    scaled = np.clip(LEVELS, low, high) / 255  # levels outside [low, high] never occur
    if high != low:
        low_value, high_value = low / 255, high / 255
        scaled = (scaled - low_value) / (high_value - low_value)
    return Normalisation(scaled, (scaled * 255).astype(np.uint8).astype(np.intp))


def convention_text(results: dict) -> str:
    """The max-F convention of a saliency result, in words (every table names it)."""
    convention = results.get("convention")
    if not convention:
        return ""
    if convention["maxf"] == "pooled":
        how = "pooled (F of dataset-mean precision and recall, MATLAB toolbox)"
    else:
        how = "mean (max of the mean per-image F curve, PySODMetrics)"
    return f"max-F {how}, {convention['thresholds']} thresholds, beta^2 {convention['beta2']}"
