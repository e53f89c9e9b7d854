"""Weighted F-measure (Margolin et al., CVPR 2014), computed fast.

The reference (MATLAB, and PySODMetrics after it) takes a full Euclidean
feature transform to copy each foreground error onto the background, blurs
it with a 7x7 Gaussian (sigma 5) and weights background errors by distance.
Only background pixels within 3 pixels of the foreground can reach a
foreground pixel through that 7x7 blur, so we find nearest foreground pixels
for that thin band only, breaking distance ties exactly as SciPy's transform
does (smallest column offset, then smallest row offset), and take distances
from OpenCV's exact transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from weaksal.metrics.conventions import EPS

_PAD = 7  # window margin: band (3) + farthest candidate offset (4)
_HALF = 3  # 7x7 kernel
_BAND_KERNEL = np.ones((2 * _HALF + 1, 2 * _HALF + 1), np.uint8)
_DECAY = np.log(0.5) / 5


def _gaussian_1d(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    half = (size - 1) / 2
    x = np.arange(-half, half + 1)
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


_KERNEL_1D = _gaussian_1d()

# For each squared distance up to 18 (the farthest a band pixel's nearest
# foreground pixel can be), the offsets at that distance in SciPy's tie order,
# (dx, dy) ascending, padded with (0, 0): a background pixel, never chosen.
_MAX_D2 = 18
_CANDIDATES = np.zeros((_MAX_D2 + 1, 8, 2), np.intp)
for _d2 in range(1, _MAX_D2 + 1):
    _offsets = sorted(
        (dx, dy)
        for dy in range(-_PAD, _PAD + 1)
        for dx in range(-_PAD, _PAD + 1)
        if dx * dx + dy * dy == _d2
    )
    if _offsets:
        _CANDIDATES[_d2, : len(_offsets)] = _offsets


_decay_cache = np.ones(1)


def _decay_table(max_d2: int) -> np.ndarray:
    """``0.5 ** (sqrt(k) / 5)`` for every squared distance k up to ``max_d2``."""
    global _decay_cache
    if max_d2 >= len(_decay_cache):
        size = max(max_d2 + 1, 2 * len(_decay_cache))
        _decay_cache = np.exp(_DECAY * np.sqrt(np.arange(size, dtype=np.float64)))
    return _decay_cache


@dataclass(frozen=True)
class WeightedFGround:
    """What the weighted F-measure needs of one ground truth alone: computed once per image
    and shared by every method evaluated on it (:func:`prepare_weighted_f`).

    Every field but ``fg_count`` is None for an empty ground truth, whose measure is 0.

    Attributes
    ----------
    fg_count : int
        Foreground pixels.
    window : (slice, slice) or None
        The foreground's bounding box with a margin of ``_PAD``, clipped to the image.
    margins : (int, int, int, int) or None
        (top, bottom, left, right) zero padding that restores the part of the window
        beyond the image border; None when the window lies inside the image.
    base : (n,) intp ndarray or None
        Flat crop indices of the background band the 7x7 blur reaches.
    nearest : (n,) intp ndarray or None
        Flat crop index of each band pixel's nearest foreground pixel (SciPy's tie order).
    decay : (H, W) float64 ndarray or None
        Per-pixel ``0.5 ** (dist / 5)``, dist the distance to the foreground.
    """

    fg_count: int
    window: tuple[slice, slice] | None = None
    margins: tuple[int, int, int, int] | None = None
    base: np.ndarray | None = None
    nearest: np.ndarray | None = None
    decay: np.ndarray | None = None


def prepare_weighted_f(gt: np.ndarray) -> WeightedFGround:
    """The ground-truth half of :func:`weighted_fmeasure_prepared` for boolean ``gt``.

    Parameters
    ----------
    gt : (H, W) bool ndarray
        Ground-truth mask.

    Returns
    -------
    WeightedFGround
        The window, band, nearest-foreground indices and distance decay of ``gt``.
    """
    if not gt.any():
        return WeightedFGround(0)
    height, width = gt.shape
    gt_u8 = gt.view(np.uint8)
    # Pixel dependency, on the foreground's bounding box with a zero margin:
    # errors are copied from the nearest foreground pixel onto the background
    # band that the 7x7 blur carries back to the foreground (EA in the paper).
    x, y, w, h = cv2.boundingRect(gt_u8)
    top, left = y - _PAD, x - _PAD  # window corner in image coordinates (may be outside)
    window = np.s_[max(top, 0) : min(y + h + _PAD, height), max(left, 0) : min(x + w + _PAD, width)]
    inner = np.s_[
        window[0].start - top : window[0].stop - top, window[1].start - left : window[1].stop - left
    ]
    shape = (h + 2 * _PAD, w + 2 * _PAD)
    margins = None
    if (
        window[0].stop - window[0].start == shape[0]
        and window[1].stop - window[1].start == shape[1]
    ):
        crop_gt = gt_u8[window]  # the usual case: the window lies inside the image
        band = cv2.dilate(crop_gt, _BAND_KERNEL) ^ crop_gt
    else:  # pad with zeros beyond the border, where the reference pads too
        margins = (
            inner[0].start,
            shape[0] - inner[0].stop,
            inner[1].start,
            shape[1] - inner[1].stop,
        )
        crop_gt = cv2.copyMakeBorder(gt_u8[window], *margins, cv2.BORDER_CONSTANT, value=0)
        band = cv2.dilate(crop_gt, _BAND_KERNEL) ^ crop_gt
        outside = np.ones(shape, bool)
        outside[inner] = False
        band[outside] = 0  # no band beyond the image border
    dist, decay = distance_fields(gt)
    points = cv2.findNonZero(band)
    base = nearest = np.zeros(0, np.intp)
    if points is not None:
        points = points.reshape(-1, 2).astype(np.intp)
        band_x, band_y = points[:, 0], points[:, 1]
        # exact squared distances: the float32 error is far below 0.5 here
        band_d2 = (np.square(dist[band_y + top, band_x + left]) + 0.5).astype(np.intp)
        flat_offsets = (_CANDIDATES[..., 1] * shape[1] + _CANDIDATES[..., 0])[
            band_d2
        ]  # (n, 8) in tie order
        base = band_y * shape[1] + band_x
        hits = crop_gt.ravel()[base[:, None] + flat_offsets]
        nearest = base + flat_offsets[np.arange(len(base)), hits.argmax(axis=1)]
    return WeightedFGround(int(np.count_nonzero(crop_gt)), window, margins, base, nearest, decay)


def weighted_fmeasure(pred: np.ndarray, gt: np.ndarray, beta: float = 1.0) -> float:
    """Weighted F-measure of a normalised float map against a boolean mask.

    Unlike the plain F-measure, errors are not all alike: foreground errors are blurred
    with those around them (the paper's dependency between pixels), and a background
    error counts more the farther it lies from the object, up to twice as much as next to
    it (the paper's pixel importance).

    Parameters
    ----------
    pred : (H, W) float ndarray
        Map in [0, 1], already normalised (the evaluators pass the min-max normalised map).
    gt : (H, W) bool ndarray
        Ground-truth mask.
    beta : float, optional
        Weight of recall against precision, used as beta^2 in
        ``(1 + beta) R P / (R + beta P)`` (1, as the reference).

    Returns
    -------
    float
        The weighted F-measure; 0 for an empty ground truth.

    Notes
    -----
    The same number as the reference's full Euclidean feature transform and 7x7 blur, from
    the thin band of background pixels the blur can carry back to the foreground (module
    docstring).

    References
    ----------
    .. [1] Margolin et al., CVPR 2014 (the weighted F-measure).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 8), bool)
    >>> gt[2:6, 2:6] = True
    >>> round(weighted_fmeasure(gt.astype(float), gt), 4)
    1.0
    """
    pred = np.asarray(pred, dtype=np.float64)
    fg_error = lambda region: np.where(gt[region], 1 - pred[region], 0.0)  # noqa: E731
    return weighted_fmeasure_prepared(
        fg_error, np.where(gt, 0.0, pred), prepare_weighted_f(gt), beta
    )


def distance_fields(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest foreground pixel (float32, exact) and the weight decay
    ``0.5 ** (dist / 5)`` (float64).

    Squared distances are integers: rounding them makes the decay exact and independent
    of how many threads OpenCV used.
    """
    dist = cv2.distanceTransform(gt.view(np.uint8) ^ 1, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    d2 = (dist * dist + 0.5).astype(np.int32)
    height, width = gt.shape
    return dist, np.take(_decay_table((height - 1) ** 2 + (width - 1) ** 2), d2)


def weighted_fmeasure_from_levels(
    pair_index: np.ndarray, values: np.ndarray, ground: WeightedFGround, beta: float = 1.0
) -> float:
    """Weighted F from per-pixel ``level + 256 * gt`` and the normalised value of each level.

    The evaluators' entry: the map's 256 grey levels go through look-up tables instead
    of being converted to float per pixel.

    Parameters
    ----------
    pair_index : (H, W) integer ndarray
        Raw grey level of each pixel, plus 256 on the foreground.
    values : (256,) float64 ndarray
        Normalised value of each raw level (:func:`~weaksal.metrics.conventions.normalisation`).
    ground : WeightedFGround
        The ground truth's part, from :func:`prepare_weighted_f`.
    beta : float, optional
        As in :func:`weighted_fmeasure`.

    Returns
    -------
    float
        The weighted F-measure of the pair.
    """
    zeros = np.zeros(256)
    fg_lut = np.concatenate([zeros, 1 - values])  # |pred - gt| on the foreground
    fg_error = lambda region: np.take(fg_lut, pair_index[region])  # noqa: E731
    bg_error = np.take(np.concatenate([values, zeros]), pair_index)  # and on the background
    return weighted_fmeasure_prepared(fg_error, bg_error, ground, beta)


def weighted_fmeasure_prepared(
    fg_error, bg_error: np.ndarray, ground: WeightedFGround, beta: float = 1.0
) -> float:
    """The measure itself; ``fg_error(region)`` gives the foreground error on a crop."""
    if ground.fg_count == 0:
        return 0.0
    crop_fg_error = fg_error(ground.window)
    if ground.margins is not None:
        crop_fg_error = cv2.copyMakeBorder(
            crop_fg_error, *ground.margins, cv2.BORDER_CONSTANT, value=0
        )
    spread = crop_fg_error.copy()
    spread.ravel()[ground.base] = crop_fg_error.ravel()[ground.nearest]
    blurred = cv2.sepFilter2D(
        spread, cv2.CV_64F, _KERNEL_1D, _KERNEL_1D, borderType=cv2.BORDER_CONSTANT
    )
    # min(E, EA) on the foreground: fg_error is 0 elsewhere, so the minimum is too
    np.minimum(blurred, crop_fg_error, out=blurred)
    fg_sum = float(blurred.sum())

    # Pixel importance: background errors weighted by 2 - 0.5 ** (dist / 5). einsum, not
    # np.dot: OpenBLAS threads a dot product this long, which costs more than the product
    # on 2 cores and far more when the cores are busy.
    false_positive = 2 * float(bg_error.sum()) - float(np.einsum("ij,ij->", bg_error, ground.decay))
    true_positive = ground.fg_count - fg_sum
    recall = 1 - fg_sum / ground.fg_count
    precision = true_positive / (true_positive + false_positive + EPS)
    return float((1 + beta) * recall * precision / (recall + beta * precision + EPS))
