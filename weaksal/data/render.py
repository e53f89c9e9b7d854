"""What a saliency map becomes in a file: the map, a mask, a cut-out or an overlay.

``weaksal predict --type`` and the web demo both render through
:func:`render`, so a cut-out downloaded from the page is the file the command
line writes.

* ``map``: the grey map, 0..255 (what evaluation reads);
* ``mask``: ``map >= threshold`` as 0/255;
* ``rgba``: the photo with the map as its alpha channel (a cut-out, as
  rembg writes; with a threshold, the mask is the alpha);
* ``overlay``: the photo tinted red where the map is high, for looking.

Figures that put images and maps side by side (the demo, the evaluation
report's picture grid) build their squares with :func:`tile` and their
title rows with :func:`header`.
"""

from __future__ import annotations

import cv2
import numpy as np

OUTPUT_TYPES = ("map", "mask", "rgba", "overlay")
#: the red of the overlay and how strongly a fully salient pixel takes it
OVERLAY_COLOUR = np.array([255, 32, 32], np.float32)
OVERLAY_STRENGTH = 0.55
#: width of a figure tile, in pixels (its height follows the image's aspect)
TILE = 200
#: the grey behind fitted tiles and titles: neither a white map nor a black one vanishes on it
NEUTRAL = 150


def to_grey(saliency: np.ndarray) -> np.ndarray:
    """``uint8`` 0..255 of a float map in [0, 1] (rounded, as every map weaksal writes)."""
    return np.round(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_mask(saliency: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``uint8`` 0/255: foreground where the map is at least ``threshold``."""
    return np.where(saliency >= threshold, 255, 0).astype(np.uint8)


def to_rgba(image: np.ndarray, saliency: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """``uint8 (H, W, 4)``: the photo, its alpha the soft map (or the mask at ``threshold``)."""
    alpha = to_grey(saliency) if threshold is None else to_mask(saliency, threshold)
    return np.concatenate([image, alpha[:, :, None]], axis=2)


def to_overlay(
    image: np.ndarray, saliency: np.ndarray, threshold: float | None = None
) -> np.ndarray:
    """``uint8 (H, W, 3)``: the photo blended towards red by the map (or its mask)."""
    weight = saliency if threshold is None else (saliency >= threshold).astype(np.float32)
    weight = (OVERLAY_STRENGTH * weight.astype(np.float32))[:, :, None]
    blended = image.astype(np.float32) * (1.0 - weight) + OVERLAY_COLOUR * weight
    return np.round(blended).astype(np.uint8)


def render(kind: str, image, saliency, threshold: float | None = None) -> np.ndarray:
    """The array ``weaksal predict --type kind`` writes for one image and its map.

    ``image`` and ``saliency`` may be any kind :mod:`weaksal.data.inputs`
    reads (a path, a PIL image, an array: a ``uint8`` map is 0..255, a float
    map 0..1); they must be of one size.
    """
    from weaksal.data.inputs import as_map, as_rgb

    if kind not in OUTPUT_TYPES:
        raise ValueError(f"output type must be one of {', '.join(OUTPUT_TYPES)}, not {kind!r}")
    image, saliency = as_rgb(image), as_map(saliency)
    if image.shape[:2] != saliency.shape:
        raise ValueError(
            f"the map is {saliency.shape[0]}x{saliency.shape[1]} but the image"
            f" {image.shape[0]}x{image.shape[1]}: render a map of the image it was made from"
        )
    if kind == "map":
        return to_grey(saliency)
    if kind == "mask":
        return to_mask(saliency, 0.5 if threshold is None else threshold)
    if kind == "rgba":
        return to_rgba(image, saliency, threshold)
    if kind == "overlay":
        return to_overlay(image, saliency, threshold)
    raise ValueError(f"output type must be one of {', '.join(OUTPUT_TYPES)}, not {kind!r}")


def encode_png(array: np.ndarray, palette=None, compress_level: int = 6) -> bytes:
    """The PNG file of a ``uint8`` grey, RGB or RGBA array (a palette image of class indices
    with ``palette``, ``(256, 3)`` colours), in memory: what standard output and the web page
    send. ``compress_level`` 1 encodes about 4x faster for 25% more bytes."""
    import io

    from PIL import Image

    picture = Image.fromarray(array, mode="P" if palette is not None else None)
    if palette is not None:
        picture.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def tile(image: np.ndarray, size: int = TILE) -> np.ndarray:
    """``image`` (grey or RGB) as a figure tile ``size`` wide, its height by its aspect.

    The tiles of one row show one photo and its maps, so they share a height and the row
    has no padding bands; only an image more than twice as tall (or wide) as its width
    (height) is fitted into that bound on :data:`NEUTRAL` grey, on which white maps stay
    visible (white padding hid them).
    """
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    height = tile_height(image.shape[:2], size)
    scale = min(size / image.shape[1], height / image.shape[0])
    width_px = max(1, round(image.shape[1] * scale))
    height_px = max(1, round(image.shape[0] * scale))
    resized = cv2.resize(image, (width_px, height_px), interpolation=cv2.INTER_AREA)
    box = np.full((height, size, 3), NEUTRAL, np.uint8)
    top, left = (height - height_px) // 2, (size - width_px) // 2
    box[top : top + height_px, left : left + width_px] = resized
    return box


def tile_height(shape: tuple[int, int], size: int = TILE) -> int:
    """The height of an image's tile ``size`` wide: by its aspect, within half and twice ``size``."""
    height, width = shape
    return int(min(2 * size, max(size // 2, round(height * size / width))))


def header(titles: list[str], size: int = TILE) -> np.ndarray:
    """The title row of a figure: one title per ``size``-wide column, dark on the neutral grey."""
    row = np.full((32, size * len(titles), 3), NEUTRAL + 70, np.uint8)
    for index, title in enumerate(titles):
        scale = min(0.7, 0.7 * 14 / max(len(title), 1))  # long titles shrink to fit their tile
        cv2.putText(
            row, title, (index * size + 8, 23), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2
        )
    return row
