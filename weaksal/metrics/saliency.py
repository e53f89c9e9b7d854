"""Saliency metrics from one shared histogram per image.

Two steps. :func:`pair_stats` reads a (prediction, ground truth) pair once:
the 256-level histogram of the raw prediction split by ground truth and by
the four S-measure quadrants, the confusion counts at every threshold, and
the weighted F-measure (the only metric that needs pixels twice). Then
:func:`scores_from_stats` derives every metric for a whole batch of images
at once from those small statistics: MAE, the threshold family (F,
precision, recall, IoU, Dice, BER, specificity, kappa, E-measure) in
dynamic, adaptive and binary modes, and the S-measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from weaksal.metrics.conventions import EPS, as_ground_truth, as_prediction, normalisation
from weaksal.metrics.weighted_f import (
    WeightedFGround,
    prepare_weighted_f,
    weighted_fmeasure_from_levels,
)

#: Metrics derived from the confusion counts at a threshold.
FAMILY = (
    "fmeasure",
    "precision",
    "recall",
    "iou",
    "dice",
    "ber",
    "specificity",
    "kappa",
    "emeasure",
)
POOLED_THRESHOLDS = np.linspace(0, 1, 21)
# Layout of the threshold axis of PairStats.tp / .fp:
DYNAMIC = slice(0, 256)  # t = 0..255 on the truncated 8-bit normalised map, ">= t"
ADAPTIVE = 256  # ">= min(2 * mean, 1)"
BINARY = 257  # "> 0.5"
POOLED = slice(258, 258 + len(POOLED_THRESHOLDS))  # ">= linspace(0, 1, 21)"


@dataclass(frozen=True)
class PairStats:
    """Sufficient statistics of one pair: every metric follows from these.

    About 20 kB per image whatever its size, instead of the maps themselves, so a
    dataset's pairs can be read in worker processes and summarised together
    (:func:`scores_from_stats`).

    Attributes
    ----------
    tp, fp : (279,) float ndarray
        Foreground (``tp``) and background (``fp``) pixels at or above each threshold:
        the 256 dynamic ones, then adaptive, binary and the 21 pooled ones (the module's
        ``DYNAMIC``, ``ADAPTIVE``, ``BINARY`` and ``POOLED``).
    fg : int
        Ground-truth foreground pixels.
    size : int
        Pixels.
    mae : float
        Mean absolute error of the normalised map.
    quadrants : (4, 2, 256) int64 ndarray
        Raw-level histograms of the four S-measure quadrants, row 1 = foreground.
    quadrant_weights : (4,) float ndarray
        The quadrants' area fractions.
    values : (256,) float64 ndarray
        Normalised value of each raw level.
    wfmeasure : float
        Weighted F-measure; NaN unless computed.
    constant_ssim : (4,) float ndarray
        The reference's SSIM of quadrants flat in both maps, else NaN.
    """

    tp: np.ndarray
    fp: np.ndarray
    fg: int
    size: int
    mae: float
    quadrants: np.ndarray
    quadrant_weights: np.ndarray
    values: np.ndarray
    wfmeasure: float
    constant_ssim: np.ndarray


def _centroid_quadrants(gt: np.ndarray, fg: int) -> tuple[int, int]:
    """The split point of the S-measure: the ground-truth centroid, rounded, + 1 (MATLAB)."""
    height, width = gt.shape
    if fg == 0:
        return round(height / 2) + 1, round(width / 2) + 1
    # integer sums, exact: the same centroid as mean(argwhere(gt)) of the reference
    rows = (
        cv2.reduce(gt.view(np.uint8), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.int64)
    )
    cols = (
        cv2.reduce(gt.view(np.uint8), 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.int64)
    )
    cy = int(np.round(int(rows @ np.arange(height)) / fg))
    cx = int(np.round(int(cols @ np.arange(width)) / fg))
    return cy + 1, cx + 1


def _constant_quadrant_ssim(quadrants, values, shape, cy, cx) -> np.ndarray:
    """The reference's SSIM where a quadrant is flat in both prediction and ground truth.

    Mathematically 0/0; the reference's answer (1 or 0) hinges on whether
    NumPy's mean of that constant slice comes back exactly, so it is replayed
    on the same slice. Elsewhere NaN: the histogram formula applies.
    """
    out = np.full(4, np.nan)
    levels_present = np.count_nonzero(quadrants.sum(axis=1), axis=1)
    n, fg = quadrants.sum(axis=(1, 2)), quadrants[:, 1].sum(axis=1)
    flat = np.flatnonzero((levels_present == 1) & ((fg == 0) | (fg == n)))
    if flat.size:
        height, width = shape
        slices = [
            np.s_[0:cy, 0:cx],
            np.s_[0:cy, cx:width],
            np.s_[cy:height, 0:cx],
            np.s_[cy:height, cx:width],
        ]
        for q in flat:
            value = values[np.flatnonzero(quadrants[q].sum(axis=0))[0]]
            out[q] = 1.0 if np.full(shape, value)[slices[q]].mean() == value else 0.0
    return out


@dataclass(frozen=True)
class GroundTruth:
    """Everything of a pair that depends on the ground truth alone, computed once per image.

    An evaluation of several methods on one dataset (every paper table) reads
    each mask once and shares this between the methods: the foreground count,
    the S-measure's centroid split and quadrant weights, the per-pixel
    ``gt << 8 | quadrant << 9`` part of the histogram index, and the weighted
    F-measure's distance fields and band (:class:`~weaksal.metrics.weighted_f.WeightedFGround`).

    Attributes
    ----------
    mask : (H, W) bool ndarray
        The ground truth, read as ``weaksal.metrics.conventions`` says.
    fg : int
        Foreground pixels.
    split : (int, int)
        ``(cy, cx)``: the S-measure's quadrant split.
    gt_bits : (H, W) uint16 ndarray
        ``gt << 8``.
    index_bits : (H, W) uint16 ndarray
        ``gt << 8 | quadrant << 9``.
    weighted : WeightedFGround or None
        None without structure metrics.
    """

    mask: np.ndarray
    fg: int
    split: tuple[int, int]
    gt_bits: np.ndarray
    index_bits: np.ndarray
    weighted: WeightedFGround | None

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``, the size every prediction of this image must have."""
        return self.mask.shape


def prepare_ground_truth(gt: np.ndarray, structure: bool = True) -> GroundTruth:
    """The ground-truth half of :func:`pair_stats` (see :class:`GroundTruth`).

    Parameters
    ----------
    gt : (H, W) ndarray
        Ground-truth mask (uint8 grey, 0/1 or bool; see ``weaksal.metrics.conventions``).
    structure : bool, optional
        Also prepare the weighted F-measure's part; needed by ``pair_stats(...,
        structure=True)``.

    Returns
    -------
    GroundTruth
        To pass to :func:`pair_stats` for every method's map of this image.
    """
    mask = as_ground_truth(gt)
    fg = int(np.count_nonzero(mask))
    cy, cx = _centroid_quadrants(mask, fg)
    gt_bits = mask.view(np.uint8).astype(np.uint16) << 8
    index_bits = gt_bits.copy()
    index_bits[cy:, :] |= 1 << 10
    index_bits[:, cx:] |= 1 << 9
    weighted = prepare_weighted_f(mask) if structure else None
    return GroundTruth(mask, fg, (cy, cx), gt_bits, index_bits, weighted)


def pair_stats(pred: np.ndarray, gt: np.ndarray | GroundTruth, structure: bool = True) -> PairStats:
    """Read one pair once into the statistics every metric follows from.

    Parameters
    ----------
    pred : (H, W) uint8, bool or float ndarray
        Predicted map, read as ``weaksal.metrics.conventions`` says (floats in [0, 1]
        are quantised to 8 bits, as a PNG stores them).
    gt : (H, W) ndarray or GroundTruth
        A mask, or a :class:`GroundTruth` prepared once for several predictions.
    structure : bool, optional
        Also compute the weighted F-measure, which reads the pixels a second time.

    Returns
    -------
    PairStats

    Raises
    ------
    ValueError
        If the prediction is not a 2-D map or is a float map outside [0, 1], the two maps
        differ in size, or ``structure`` is asked of a ground truth prepared without it.
    TypeError
        For a prediction that is neither uint8, bool nor float.
    """
    pred = as_prediction(pred)
    ground = gt if isinstance(gt, GroundTruth) else prepare_ground_truth(gt, structure)
    if structure and ground.weighted is None:
        raise ValueError("this ground truth was prepared without structure metrics")
    if pred.shape != ground.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {ground.shape} differ in size")
    height, width = ground.shape
    size = height * width
    norm = normalisation(pred)
    values = norm.value
    fg = ground.fg

    # One histogram: raw level | gt << 8 | quadrant << 9
    cy, cx = ground.split
    raw = pred.astype(np.uint16)
    index = raw | ground.index_bits
    if size < 1 << 24:  # float32 counts stay exact; OpenCV's histogram is 2x NumPy's
        quadrants = (
            cv2.calcHist([index], [0], None, [2048], [0, 2048]).astype(np.int64).reshape(4, 2, 256)
        )
    else:
        quadrants = np.bincount(index.ravel(), minlength=2048).reshape(4, 2, 256)
    w_lt, w_rt, w_lb = cx * cy / size, cy * (width - cx) / size, (height - cy) * cx / size
    hist = quadrants.sum(axis=0)

    # Counts at every threshold: dynamic levels (after the reference's uint8
    # truncation), then adaptive, binary and the 21 pooled thresholds.
    fg_by_level = np.bincount(norm.level, weights=hist[1], minlength=256)
    bg_by_level = np.bincount(norm.level, weights=hist[0], minlength=256)
    adaptive_threshold = min(2 * float((hist[0] + hist[1]) @ values) / size, 1.0)
    selected = np.vstack(
        [values >= adaptive_threshold, values > 0.5, values[None, :] >= POOLED_THRESHOLDS[:, None]]
    )
    tp = np.concatenate([np.cumsum(fg_by_level[::-1])[::-1], selected @ hist[1]])
    fp = np.concatenate([np.cumsum(bg_by_level[::-1])[::-1], selected @ hist[0]])
    wfmeasure = (
        weighted_fmeasure_from_levels(raw | ground.gt_bits, values, ground.weighted)
        if structure
        else float("nan")
    )
    return PairStats(
        tp=tp,
        fp=fp,
        fg=fg,
        size=size,
        mae=float((hist[1] @ (1 - values) + hist[0] @ values) / size),
        quadrants=quadrants,
        quadrant_weights=np.array([w_lt, w_rt, w_lb, 1 - w_lt - w_rt - w_lb]),
        values=values,
        wfmeasure=wfmeasure,
        constant_ssim=_constant_quadrant_ssim(quadrants, values, ground.shape, cy, cx),
    )


def _divide(numerator, denominator) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (the reference's rule)."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    )
    out = np.zeros(numerator.shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def family_scores(tp, fp, fg, size, beta2: float = 0.3) -> dict[str, np.ndarray]:
    """Every threshold-family metric from confusion counts (textbook formulas).

    ``tp``/``fp`` may be scalars or arrays; ``fg``/``size`` broadcast against them.
    """
    tp, fp = np.asarray(tp, np.float64), np.asarray(fp, np.float64)
    fg, size = np.asarray(fg, np.float64), np.asarray(size, np.float64)
    fn, tn = fg - tp, size - fg - fp
    precision = _divide(tp, tp + fp)
    recall = _divide(tp, tp + fn)
    accuracy = _divide(tp + tn, size)
    chance = _divide((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp), size**2)  # Cohen's p_e
    return {
        "fmeasure": _divide((1 + beta2) * precision * recall, beta2 * precision + recall),
        "precision": precision,
        "recall": recall,
        "iou": _divide(tp, tp + fp + fn),
        "dice": _divide(2 * tp, 2 * tp + fp + fn),
        "ber": 1 - 0.5 * (_divide(tp, tp + fn) + _divide(tn, tn + fp)),
        "specificity": _divide(tn, tn + fp),
        "kappa": _divide(accuracy - chance, 1 - chance),
        "emeasure": emeasure(tp, fp, fg, size),
    }


def emeasure(tp, fp, fg, size) -> np.ndarray:
    """Enhanced-alignment measure from confusion counts, as the reference computes it.

    The alignment matrix of a binarised map takes only four values (one per cell of the
    confusion matrix), so the measure follows from the counts alone.

    Parameters
    ----------
    tp, fp : float or ndarray
        Foreground and background pixels predicted foreground, at one or more thresholds.
    fg, size : float or ndarray
        Ground-truth foreground pixels and pixels; broadcast against ``tp``.

    Returns
    -------
    ndarray
        E-measure, of the broadcast shape. With an empty (full) ground truth it reduces
        to the fraction of pixels predicted background (foreground), as in the reference.

    References
    ----------
    .. [1] Fan et al., IJCAI 2018 (the E-measure).
    """
    tp, fp, fg, size = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (tp, fp, fg, size)))
    pred_fg = tp + fp
    pred_bg = size - pred_fg
    fn = fg - tp
    tn = pred_bg - fn
    mean_pred = pred_fg / size
    mean_gt = fg / size
    total = np.zeros(tp.shape)
    for count, pred_value, gt_value in (
        (tp, 1 - mean_pred, 1 - mean_gt),
        (fp, 1 - mean_pred, 0 - mean_gt),
        (fn, 0 - mean_pred, 1 - mean_gt),
        (tn, 0 - mean_pred, 0 - mean_gt),
    ):
        align = 2 * (pred_value * gt_value) / (pred_value**2 + gt_value**2 + EPS)
        total = total + (align + 1) ** 2 / 4 * count
    total = np.where(fg == 0, pred_bg, np.where(fg == size, pred_fg, total))
    return total / (size - 1 + EPS)


def _object_scores(hist: np.ndarray, values: np.ndarray) -> np.ndarray:
    """2 mean / (mean^2 + 1 + std + eps) per row of ``hist`` over per-row ``values``."""
    n = hist.sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (hist * values).sum(axis=-1) / n
        variance = (hist * (values - mean[..., None]) ** 2).sum(axis=-1) / (n - 1)
    std = np.where(n > 1, np.sqrt(np.where(n > 1, variance, 0.0)), 0.0)
    return 2 * mean / (mean**2 + 1 + std + EPS)


def smeasure(
    quadrants: np.ndarray,
    weights: np.ndarray,
    values: np.ndarray,
    constant_ssim: np.ndarray | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """S-measure of a batch of images, from their quadrant histograms.

    Object- and region-aware structural similarity, both computed from per-level
    histograms: each quadrant's SSIM needs only the means, variances and covariance of
    the map and the mask, which the histogram of raw levels split by ground truth gives.

    Parameters
    ----------
    quadrants : (N, 4, 2, 256) ndarray
        :attr:`PairStats.quadrants` of each image.
    weights : (N, 4) ndarray
        :attr:`PairStats.quadrant_weights`.
    values : (N, 256) ndarray
        :attr:`PairStats.values`, the normalised value of each raw level.
    constant_ssim : (N, 4) ndarray, optional
        Overrides the SSIM of quadrants flat in both maps (NaN: no override).
    alpha : float, optional
        Weight of the object term against the region term (0.5, the reference's).

    Returns
    -------
    (N,) float ndarray
        S-measure of each image.

    References
    ----------
    .. [1] Fan et al., ICCV 2017 (the S-measure).
    """
    hist = quadrants.sum(axis=1)  # (N, 2, 256)
    size = hist.sum(axis=(1, 2)).astype(np.float64)
    fg = hist[:, 1].sum(axis=1).astype(np.float64)
    y = fg / size
    with np.errstate(invalid="ignore", divide="ignore"):
        object_score = _object_scores(hist[:, 1], values) * y + _object_scores(
            hist[:, 0], 1 - values
        ) * (1 - y)
        # region: SSIM of each quadrant from its histogram
        n = quadrants.sum(axis=(2, 3)).astype(np.float64)  # (N, 4)
        q_fg = quadrants[:, :, 1].sum(axis=2).astype(np.float64)
        both = quadrants.sum(axis=2).astype(np.float64)  # (N, 4, 256)
        x = (both * values[:, None, :]).sum(axis=2) / n
        q_y = q_fg / n
        dx = values[:, None, :] - x[..., None]
        sigma_x = (both * dx**2).sum(axis=2) / (n - 1 + EPS)
        sigma_y = (q_fg * (1 - q_y) ** 2 + (n - q_fg) * q_y**2) / (n - 1 + EPS)
        sigma_xy = (
            (quadrants[:, :, 1] * dx).sum(axis=2) * (1 - q_y)
            - (quadrants[:, :, 0] * dx).sum(axis=2) * q_y
        ) / (n - 1 + EPS)
        a = 4 * x * q_y * sigma_xy
        b = (x**2 + q_y**2) * (sigma_x + sigma_y)
        ssim = np.where(a != 0, a / (b + EPS), np.where(b == 0, 1.0, 0.0))
    # an empty quadrant has weight 0 (the reference returns NaN for the whole image)
    ssim = np.where(n > 0, ssim, 0.0)
    if constant_ssim is not None:
        ssim = np.where(np.isnan(constant_ssim), ssim, constant_ssim)
    region_score = (weights * ssim).sum(axis=1)
    score = np.maximum(0.0, alpha * object_score + (1 - alpha) * region_score)
    empty_gt = 1 - (hist[:, 0] * values).sum(axis=1) / size
    full_gt = (hist[:, 1] * values).sum(axis=1) / size
    return np.where(fg == 0, empty_gt, np.where(fg == size, full_gt, score))


@dataclass
class BatchScores:
    """Every metric of a batch of N images.

    Attributes
    ----------
    mae, smeasure, wfmeasure : (N,) float ndarray
        Per image; ``smeasure`` and ``wfmeasure`` are NaN without structure metrics.
    curves : dict of str to (N, 256) float ndarray
        Each :data:`FAMILY` metric at the dynamic thresholds, index = threshold.
    adaptive, binary : dict of str to (N,) float ndarray
        Each :data:`FAMILY` metric at the adaptive and the binary threshold.
    pooled_precision, pooled_recall : (N, 21) float ndarray
        Precision and recall at ``POOLED_THRESHOLDS``, for the pooled convention.
    """

    mae: np.ndarray
    smeasure: np.ndarray
    wfmeasure: np.ndarray
    curves: dict[str, np.ndarray]
    adaptive: dict[str, np.ndarray]
    binary: dict[str, np.ndarray]
    pooled_precision: np.ndarray
    pooled_recall: np.ndarray


def scores_from_stats(
    stats: Sequence[PairStats], beta2: float = 0.3, structure: bool = True
) -> BatchScores:
    """Derive every metric for a batch of images, vectorised over the batch.

    Parameters
    ----------
    stats : sequence of PairStats
        One per image, from :func:`pair_stats`.
    beta2 : float, optional
        beta^2 of the F-measure (0.3, as every saliency paper).
    structure : bool, optional
        Derive the S-measure (``stats`` must then carry it; NaN otherwise).

    Returns
    -------
    BatchScores
    """
    tp = np.stack([s.tp for s in stats])
    fp = np.stack([s.fp for s in stats])
    fg = np.array([s.fg for s in stats], np.float64)[:, None]
    size = np.array([s.size for s in stats], np.float64)[:, None]
    scores = family_scores(tp, fp, fg, size, beta2)
    if structure:
        sm = smeasure(
            np.stack([s.quadrants for s in stats]),
            np.stack([s.quadrant_weights for s in stats]),
            np.stack([s.values for s in stats]),
            np.stack([s.constant_ssim for s in stats]),
        )
    else:
        sm = np.full(len(stats), np.nan)
    return BatchScores(
        mae=np.array([s.mae for s in stats]),
        smeasure=sm,
        wfmeasure=np.array([s.wfmeasure for s in stats]),
        curves={k: v[:, DYNAMIC] for k, v in scores.items()},
        adaptive={k: v[:, ADAPTIVE] for k, v in scores.items()},
        binary={k: v[:, BINARY] for k, v in scores.items()},
        pooled_precision=scores["precision"][:, POOLED],
        pooled_recall=scores["recall"][:, POOLED],
    )


def image_scores(
    pred: np.ndarray, gt: np.ndarray, beta2: float = 0.3, structure: bool = True
) -> dict:
    """Every metric of one image, as plain numbers and (256,) curves.

    For checking one map by hand; a dataset goes through
    :class:`~weaksal.metrics.evaluator.SaliencyEvaluator`, which gives the same numbers
    per image.

    Parameters
    ----------
    pred : (H, W) uint8, bool or float ndarray
        Predicted map (see ``weaksal.metrics.conventions``).
    gt : (H, W) ndarray
        Ground-truth mask.
    beta2 : float, optional
        beta^2 of the F-measure.
    structure : bool, optional
        Also compute the S-measure and the weighted F-measure (NaN otherwise).

    Returns
    -------
    dict
        ``mae``, ``smeasure``, ``wfmeasure``, and for every :data:`FAMILY` metric a dict
        of ``adaptive``, ``binary`` (floats) and ``curve`` ((256,) over the thresholds).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 8), np.uint8)
    >>> gt[2:6, 2:6] = 255
    >>> scores = image_scores(gt // 2, gt)  # the right shape at half the grey level
    >>> scores["mae"], scores["fmeasure"]["adaptive"], round(scores["smeasure"], 3)
    (0.0, 1.0, 1.0)
    """
    batch = scores_from_stats([pair_stats(pred, gt, structure)], beta2, structure)
    out: dict = {
        "mae": float(batch.mae[0]),
        "smeasure": float(batch.smeasure[0]),
        "wfmeasure": float(batch.wfmeasure[0]),
    }
    for metric in FAMILY:
        out[metric] = {
            "adaptive": float(batch.adaptive[metric][0]),
            "binary": float(batch.binary[metric][0]),
            "curve": batch.curves[metric][0],
        }
    return out
