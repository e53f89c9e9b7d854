"""MB+ salient object detection (Zhang et al., ICCV 2015).

J. Zhang, S. Sclaroff, Z. Lin, X. Shen, B. Price, R. Mech, "Minimum Barrier Salient Object
Detection at 80 FPS", ICCV 2015. Saliency is a pixel's minimum barrier distance (MBD) to the
image border, computed by the paper's raster-scan approximation (FastMBD), plus a colour
contrast to the four border strips, then smoothed, centre-weighted and contrast-enhanced.

Details and constants follow the authors' released MATLAB/C++ code (``doMBS.m``, ``BG.m``,
``getParam.m``, ``MBS.cpp``, default settings), which produced the published numbers; where
it is more specific than the paper's text, that is said below.
"""

from __future__ import annotations

import cv2
import numpy as np

from weaksal.classic._registry import DETECTORS

#: Longer image side during computation (paper: 300 px).
WORKING_SIDE = 300
#: Width of each border strip for the boundary contrast map, as a fraction of the side.
MARGIN_RATIO = 0.1
#: Added to each strip's colour covariance (RGB in 0..255) so whitening stays bounded.
COVARIANCE_REGULARISER = 50.0
#: Structuring element width = SMOOTH_ALPHA * sqrt(mean saliency) (paper eqn. 9), at least 3.
SMOOTH_ALPHA = 50.0
MIN_SMOOTH_WIDTH = 3
#: Sigmoid steepness of the contrast enhancement (paper eqn. 11).
CONTRAST_B = 10.0
#: Artificial frames are looked for within this many pixels of each side.
FRAME_MAX = 20
_FRAME_EDGE = 0.4 * 255.0  # Sobel magnitude a frame edge must exceed
_FRAME_ROW_FILL = 0.6 * 255.0  # fraction (x 255) of a row that must lie on that edge
_UNREACHED = np.int16(np.iinfo(np.int16).max)


@DETECTORS.register("mbplus", reference="Zhang et al., ICCV 2015")
def mbplus(image: np.ndarray) -> np.ndarray:
    """MB+ saliency map of an RGB image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.

    Returns
    -------
    (H, W) uint8 ndarray
        Saliency map, min-max scaled to 0..255 (255 = most salient).

    Raises
    ------
    ValueError
        If the image is not RGB uint8.

    Notes
    -----
    Steps, as in the authors' code (defaults of ``getParam.m``):

    1. Resize so the longer side is 300 px (OpenCV ``INTER_AREA``; the reference uses
       MATLAB's anti-aliased bicubic ``imresize``).
    2. Detect and crop an artificial frame (thin uniform border lines), as ``MBS.cpp``.
    3. MBD map: FastMBD (:func:`minimum_barrier_distance`, three raster scans: forward,
       backward, forward) on each channel of the 8-bit OpenCV Lab image after a 5x5 median
       filter, summed over channels and min-max normalised; 0 on a cropped frame.
    4. Boundary contrast map (:func:`boundary_contrast`) on the RGB image, added to it.
    5. Centre bias: multiply by 1 - (distance to the centre) / (half the diagonal), with the
       distance measured on the image stretched to a square, as the reference's resized map.
    6. Morphological smoothing (:func:`morphological_smoothing`): opening then closing by
       reconstruction, square of width ``max(floor(50 sqrt(mean)), 3)`` px.
    7. Sigmoid contrast enhancement with b = 10 (:func:`enhance_contrast`).
    8. Resize back (bicubic), min-max normalise and scale to 0..255.

    The raster scans are computed exactly (the same result as the sequential C++ scan, ties
    included) by sweeping anti-diagonals. Differences from the reference: the resizing
    kernels named above, the centre map evaluated exactly instead of resized, and the MBD
    map not rounded to 8 bits before it is normalised.

    References
    ----------
    .. [1] J. Zhang, S. Sclaroff, Z. Lin, X. Shen, B. Price and R. Mech, "Minimum Barrier
       Salient Object Detection at 80 FPS", ICCV 2015.
    """
    image = np.ascontiguousarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    small = _resize_longer_side(image, WORKING_SIDE)

    top, bottom, left, right = frame_margins(small)
    inner = small[top : small.shape[0] - bottom, left : small.shape[1] - right]
    # OpenCV's 8-bit Lab, as the reference: L scaled to 0..255, a and b offset by 128.
    lab = cv2.medianBlur(cv2.cvtColor(np.ascontiguousarray(inner), cv2.COLOR_RGB2LAB), 5)
    distance = np.zeros(small.shape[:2], np.float64)
    distance[top : small.shape[0] - bottom, left : small.shape[1] - right] = _rescale(
        minimum_barrier_distance(lab)
    )

    saliency = distance + boundary_contrast(small)
    saliency = _rescale(saliency * centre_weight(saliency.shape))
    width_se = max(int(np.floor(SMOOTH_ALPHA * np.sqrt(saliency.mean()))), MIN_SMOOTH_WIDTH)
    saliency = morphological_smoothing(saliency, width_se)
    saliency = enhance_contrast(saliency, CONTRAST_B)

    saliency = cv2.resize(saliency, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.rint(_rescale(saliency) * 255).astype(np.uint8)


def _resize_longer_side(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = side / max(height, width)
    # MATLAB's imresize rounds the output size up
    size = (int(np.ceil(width * scale - 1e-9)), int(np.ceil(height * scale - 1e-9)))
    if size == (width, height):
        return image
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)


def _rescale(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] (MATLAB ``mat2gray``); a constant map becomes zeros."""
    values = np.asarray(values, np.float64)
    low, high = values.min(), values.max()
    if high <= low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def minimum_barrier_distance(channels: np.ndarray, passes: int = 3) -> np.ndarray:
    """FastMBD: approximate minimum barrier distance of each pixel to the image border.

    Parameters
    ----------
    channels : (H, W) or (H, W, C) integer ndarray
        Values in 0..32766 (e.g. uint8): the scan runs in int16, where every barrier then
        fits below the 'not reached' marker.
    passes : int, optional
        Raster scans, alternating forward (from the top-left: left and upper neighbours)
        and backward (from the bottom-right: right and lower neighbours). The paper and
        its code use 3.

    Returns
    -------
    (H, W) float64 ndarray
        The barrier distances, in the input's units, summed over channels; all zeros for
        an image under 3 pixels high or wide (every pixel is on the border).

    Raises
    ------
    ValueError
        If the values are not integers in 0..32766.

    Notes
    -----
    Border pixels are seeds (distance 0). Each pixel keeps the highest (U) and lowest (L)
    value on its current path; a scan replaces the pixel's path by the one through an
    already-visited neighbour when that gives a smaller barrier ``max(U, v) - min(L, v)``
    (first the horizontal neighbour, then the vertical one, each only if strictly smaller,
    as ``MBS.cpp``). The result is an upper bound of the exact MBD (paper, Sec. 3.2).

    A pixel's update reads only its two already-visited neighbours, which lie on the
    previous anti-diagonal; so sweeping anti-diagonals, each one vectorised over its pixels
    and all channels, gives the same result as the sequential scan, bit for bit, with
    H + W numpy steps per scan instead of H * W Python steps.

    References
    ----------
    .. [1] J. Zhang, S. Sclaroff, Z. Lin, X. Shen, B. Price and R. Mech, "Minimum Barrier
       Salient Object Detection at 80 FPS", ICCV 2015.

    Examples
    --------
    A dark pixel walled in by a bright ring: any path to the border climbs the wall.

    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.uint8)
    >>> image[1:4, 1:4] = 200
    >>> image[2, 2] = 0
    >>> float(minimum_barrier_distance(image)[2, 2])
    200.0
    """
    values = np.asarray(channels)
    if values.ndim == 2:
        values = values[:, :, None]
    height, width, depth = values.shape
    if not np.issubdtype(values.dtype, np.integer) or (
        values.size and (values.min() < 0 or values.max() >= _UNREACHED)
    ):
        raise ValueError("expected integers in 0..32766, e.g. a uint8 image")
    if height < 3 or width < 3:
        return np.zeros((height, width))
    # Skewed layout: anti-diagonal d = row + column becomes row d of a 2-D array, holding its
    # pixels by image row, channels innermost. A pixel's two neighbours on diagonal d - 1
    # then sit at the same offset (upper) and one pixel before (left), so each step works
    # on contiguous slices; the backward scan is the forward scan on the arrays reversed.
    rows, cols = np.indices((height, width))
    diagonal = rows + cols
    skewed_shape = (height + width - 1, height, depth)
    feature = np.zeros(skewed_shape, np.int16)
    feature[diagonal, rows] = values
    barrier = np.full(skewed_shape, _UNREACHED, np.int16)
    border = (rows == 0) | (cols == 0) | (rows == height - 1) | (cols == width - 1)
    barrier[diagonal[border], rows[border]] = 0
    arrays = [feature, feature.copy(), feature.copy(), barrier]  # value, U, L, barrier
    for scan in range(passes):
        if scan:
            # reversing the flattened (row, channel) axis also reverses the channel order,
            # which is harmless: channels never interact
            arrays = [np.ascontiguousarray(a[::-1, ::-1, ::-1]) for a in arrays]
        _forward_scan(*arrays)
    barrier = arrays[3] if passes % 2 else arrays[3][::-1, ::-1, ::-1]
    return barrier[diagonal, rows].sum(axis=2, dtype=np.float64)


def _forward_scan(
    feature: np.ndarray, upper: np.ndarray, lower: np.ndarray, barrier: np.ndarray
) -> None:
    """One forward raster scan, in place, on the skewed arrays of minimum_barrier_distance."""
    diagonals, height, depth = feature.shape
    width = diagonals - height + 1
    stride = height * depth
    # flat views: one slice per operand and step keeps numpy's per-call overhead down,
    # which dominates on arrays this small
    value, high, low, best = (a.reshape(-1) for a in (feature, upper, lower, barrier))
    maximum, minimum, less, copyto = np.maximum, np.minimum, np.less, np.copyto
    for d in range(2, height + width - 3):
        # interior pixels of the diagonal: 1 <= row <= H - 2 and 1 <= d - row <= W - 2
        start = d * stride + max(1, d - width + 2) * depth
        stop = d * stride + min(height - 1, d) * depth
        pixel, current = value[start:stop], best[start:stop]
        high_here, low_here = high[start:stop], low[start:stop]
        # left neighbour (same row, diagonal d - 1) first, then the upper one, as MBS.cpp
        for offset in (stride, stride + depth):
            candidate_high = maximum(pixel, high[start - offset : stop - offset])
            candidate_low = minimum(pixel, low[start - offset : stop - offset])
            candidate = candidate_high - candidate_low
            shorter = less(candidate, current)
            copyto(high_here, candidate_high, where=shorter)
            copyto(low_here, candidate_low, where=shorter)
            minimum(current, candidate, out=current)


def boundary_contrast(image: np.ndarray) -> np.ndarray:
    """Colour contrast to the four border strips (the MB+ backgroundness map), in [0, 1].

    For each strip (10% of the height or width) the pixels' RGB values are whitened with
    the strip's regularised covariance; a pixel's distance to the strip is the L1 norm of
    its whitened difference from the strip mean (as ``BG.m``; the paper writes it as a
    Mahalanobis-type distance). Each map is min-max normalised; they are combined as sum
    minus maximum, so that one strip covered by the object does not decide alone.
    """
    pixels = np.asarray(image, np.float64)
    height, width, depth = pixels.shape
    row_margin = max(int(np.floor(MARGIN_RATIO * height + 0.5)), 1)  # MATLAB round
    col_margin = max(int(np.floor(MARGIN_RATIO * width + 0.5)), 1)
    strips = (
        pixels[:row_margin],
        pixels[height - row_margin :],
        pixels[:, :col_margin],
        pixels[:, width - col_margin :],
    )
    whitenings, offsets = [], []
    for strip in strips:
        samples = strip.reshape(-1, depth)
        covariance = np.atleast_2d(np.cov(samples, rowvar=False))
        covariance += COVARIANCE_REGULARISER * np.eye(depth)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        whitening = eigenvectors / np.sqrt(eigenvalues)
        whitenings.append(whitening)
        offsets.append(samples.mean(axis=0) @ whitening)
    # all four whitenings at once, pixels last so that every step runs over whole rows;
    # written as broadcast products because BLAS is slow (and multi-threaded) at (12, 3) @
    # (3, N); float32 is ample for 8-bit colours
    transform = np.hstack(whitenings).T.astype(np.float32)
    flat = pixels.reshape(-1, depth).T.astype(np.float32)
    whitened = transform[:, :1] * flat[0] - np.concatenate(offsets).astype(np.float32)[:, None]
    for channel in range(1, depth):
        whitened += transform[:, channel : channel + 1] * flat[channel]
    distances = np.abs(whitened).reshape(4, depth, -1).sum(axis=1)
    low = distances.min(axis=1, keepdims=True)
    span = distances.max(axis=1, keepdims=True) - low
    maps = (distances - low) / np.where(span > 0, span, np.inf)
    combined = maps.sum(axis=0) - maps.max(axis=0)
    return _rescale(combined.reshape(height, width))


def centre_weight(shape: tuple[int, int]) -> np.ndarray:
    """1 at the centre falling to 0 at the corners, stretched to the image's aspect ratio.

    The reference builds this on a 300 x 300 grid (1 - normalised distance to the centre)
    and resizes it to the image, so the weight is elliptical; this evaluates that map at
    the resized pixel centres directly.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)`` of the map to weight.

    Returns
    -------
    (H, W) float64 ndarray
    """
    height, width = shape
    grid = WORKING_SIDE
    # pixel centres in the 1-based coordinates of the reference's grid, centred on grid / 2
    ys = (np.arange(height) + 0.5) * grid / height + 0.5 - grid / 2
    xs = (np.arange(width) + 0.5) * grid / width + 0.5 - grid / 2
    farthest = np.hypot(grid / 2, grid / 2)
    return 1 - np.hypot(ys[:, None], xs[None, :]) / farthest


def morphological_smoothing(saliency: np.ndarray, width: int) -> np.ndarray:
    """Opening by reconstruction, then closing by reconstruction, square of side ``width``.

    Removes small bright and dark specks while keeping the outline of what survives,
    unlike a plain opening/closing. Works on the map quantised to 8 bits, as the
    reference; returns it min-max normalised to [0, 1].
    """
    levels = np.floor(np.clip(saliency, 0, 1) * 255 + 0.5).astype(np.uint8)  # MATLAB uint8()
    kernel = np.ones((width, width), np.uint8)
    # MATLAB's square element has its origin at (width + 1) // 2 (1-based); its dilation
    # uses the reflected element. For even widths this fixes which side gets the extra row.
    origin = (width + 1) // 2 - 1
    reflected = width - 1 - origin
    eroded = cv2.erode(levels, kernel, anchor=(origin, origin))
    opened = reconstruct_by_dilation(eroded, levels)
    dilated = cv2.dilate(opened, kernel, anchor=(reflected, reflected))
    # closing by reconstruction = complement of the opening by reconstruction of complements
    closed = 255 - reconstruct_by_dilation(255 - dilated, 255 - opened)
    return _rescale(closed)


def reconstruct_by_dilation(marker: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grayscale reconstruction by dilation (8-connected), for uint8 images.

    Geodesic dilations (3 x 3 dilation, then minimum with the mask) repeated until stable:
    the same result as ``skimage.morphology.reconstruction`` (and MATLAB ``imreconstruct``),
    about ten times faster on saliency maps, which settle within a few hundred steps.

    Parameters
    ----------
    marker : (H, W) uint8 ndarray
        Where the reconstruction starts (clipped to ``mask``).
    mask : (H, W) uint8 ndarray
        The ceiling it may not exceed.

    Returns
    -------
    (H, W) uint8 ndarray
    """
    kernel = np.ones((3, 3), np.uint8)
    current = np.minimum(marker, mask)
    while True:
        previous = current
        for _ in range(8):  # checking stability costs as much as a step: check every 8
            current = cv2.min(cv2.dilate(current, kernel), mask)
        if np.array_equal(current, previous):
            return current


def enhance_contrast(saliency: np.ndarray, b: float = CONTRAST_B) -> np.ndarray:
    """Sigmoid ``1 / (1 + exp(-b (x - tau)))`` pushing values away from an adaptive tau.

    tau is halfway between the mean of the values at or above half the maximum and the
    mean of those below it (the reference's threshold), so the foreground/background
    split adapts to each map.
    """
    half = 0.5 * saliency.max()
    high, low = saliency[saliency >= half], saliency[saliency < half]
    tau = 0.5 * (high.mean() + low.mean()) if high.size and low.size else half
    return 1.0 / (1.0 + np.exp(-b * (saliency - tau)))


def frame_margins(image: np.ndarray) -> tuple[int, int, int, int]:
    """Widths (top, bottom, left, right) of an artificial frame to crop, as ``MBS.cpp``.

    A frame (a uniform border drawn around a photo) would seed the MBD scan with the wrong
    background. A side has a frame when, within its outer 20 px, some line parallel to it
    lies on strong (> 0.4 x 255 Sobel), locally maximal edges along more than 60% of its
    length. The 2-px safety margin and the rule (crop all four sides by the widest frame
    when two or more sides have one) are the reference's.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image at the working size.

    Returns
    -------
    (int, int, int, int)
        Pixels to crop from the top, bottom, left and right; all 0 without a frame or for
        an image too small to have one.
    """
    height, width = image.shape[:2]
    if height < 2 * (FRAME_MAX + 3) or width < 2 * (FRAME_MAX + 3):
        return 0, 0, 0, 0
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    # top and bottom strips are filtered in place in the image (OpenCV reads past a ROI);
    # the left and right strips are transposed copies, filtered on their own
    vertical = cv2.Sobel(grey, cv2.CV_16S, 0, 1)
    top = _frame_width(vertical[:FRAME_MAX], side_first=True)
    bottom = _frame_width(vertical[height - FRAME_MAX :], side_first=False)
    left_strip = np.ascontiguousarray(grey[:, :FRAME_MAX].T)
    right_strip = np.ascontiguousarray(grey[:, width - FRAME_MAX :].T)
    left = _frame_width(cv2.Sobel(left_strip, cv2.CV_16S, 0, 1), side_first=True)
    right = _frame_width(cv2.Sobel(right_strip, cv2.CV_16S, 0, 1), side_first=False)
    sides = (top, bottom, left, right)
    found = sum(side > 0 for side in sides)
    if found == 0:
        return 0, 0, 0, 0
    if found > 1:
        margin = max(sides) + 2
        return margin, margin, margin, margin
    return tuple(side + 2 if side else 0 for side in sides)


def _frame_width(gradient: np.ndarray, side_first: bool) -> int:
    """Width of a frame in a strip of rows parallel to the side, 0 when none.

    ``side_first``: row 0 is the image side (top, left strips), else the last row is. The
    innermost qualifying edge line decides, so rows are searched from the inner end.
    """
    edges = np.clip(np.abs(gradient), 0, 255).astype(np.uint8)
    weak = edges < _FRAME_EDGE
    peaks = np.where(edges == cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=2), 255, 0)
    peaks[weak] = 0
    fill = peaks.mean(axis=1)
    rows = len(fill)
    order = range(rows - 1, -1, -1) if side_first else range(rows)
    for i in order:
        if fill[i] > _FRAME_ROW_FILL:
            return i + 1 if side_first else rows - i
    return 0
