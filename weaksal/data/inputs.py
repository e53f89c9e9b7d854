"""What an image or a map may be when it is handed over in memory: one rule per kind.

Every entry point that takes images or maps from a caller (``weaksal.load``'s
detectors, LPS's priors, ``weaksal.render``) reads them through
:func:`as_rgb` and :func:`as_map`, so the same photo gives the same map
whichever form it came in, and what cannot be read without guessing is
refused in one line instead of giving a wrong map in silence.

Images (:func:`as_rgb`, to ``uint8 (H, W, 3)`` RGB):

* a path: the file as ``weaksal predict`` reads it (EXIF orientation applied);
* bytes: an encoded image file (PNG, JPEG...), read the same way;
* a PIL image: its EXIF orientation applied, then the same mode rules as a
  file (16-bit and float modes scaled as :func:`weaksal.data.imageio.read_image`
  scales them, not saturated);
* an array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (the last
  axis is the channels when it has 1, 3 or 4 entries; alpha is dropped). By
  dtype: ``uint8`` as is; ``bool`` 0/255; ``uint16`` its full range
  0..65535; other integers must hold 0..255; floats must be finite and in
  [0, 1]. A channels-first array ``(3, H, W)`` is refused with the transpose
  that fixes it.

Maps (:func:`as_map`, to ``float32 (H, W)`` in [0, 1]):

* a path: :func:`weaksal.data.imageio.read_prediction` (any bit depth);
* a PIL image: the same rules as that file;
* an array ``(H, W)`` (or ``(H, W, C)``, its first channel): ``uint8`` / 255,
  ``uint16`` / 65535, ``bool`` 0/1, other integers 0..255 / 255, floats
  finite and in [0, 1] (within 1e-6, then clipped); a float map of 0..255
  is refused rather than clipped to white.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

#: what a float may stray outside [0, 1] by rounding before it counts as another range
FLOAT_SLACK = 1e-6


def as_rgb(image: Any) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB from a path, bytes, a PIL image or an array (rules: module doc).

    Parameters
    ----------
    image : str, Path, bytes, PIL.Image.Image or numpy.ndarray
        One image.

    Returns
    -------
    numpy.ndarray
        ``uint8 (H, W, 3)``, C-contiguous.

    Raises
    ------
    TypeError
        For another kind of object.
    ValueError
        For an array that cannot be read without guessing (empty, channels-first,
        NaN, a float outside [0, 1], an integer outside its range).
    """
    from weaksal.data.imageio import read_image, rgb_from_pil

    if isinstance(image, (str, Path)):
        return read_image(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return rgb_from_pil(_decode(bytes(image)))
    if _is_pil(image):
        from PIL import ImageOps

        return rgb_from_pil(ImageOps.exif_transpose(image))
    if not isinstance(image, np.ndarray):
        raise TypeError(
            "an image is a path, a PIL image or a numpy array (or an image file's bytes),"
            f" not {type(image).__name__}"
        )
    array = _channels_last(image, "image")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    array = array[:, :, :3]
    return np.ascontiguousarray(_image_levels(array))


def as_map(saliency: Any) -> np.ndarray:
    """``float32 (H, W)`` in [0, 1] from a path, a PIL image or an array (rules: module doc).

    Parameters
    ----------
    saliency : str, Path, PIL.Image.Image or numpy.ndarray
        One saliency map (or a prior for LPS).

    Returns
    -------
    numpy.ndarray
        ``float32 (H, W)`` in [0, 1].

    Raises
    ------
    ValueError
        For an array that cannot be read without guessing (empty, NaN, a float
        outside [0, 1], an integer outside its range).
    """
    from weaksal.data.imageio import prediction_from_pil, read_prediction

    if isinstance(saliency, (str, Path)):
        return read_prediction(saliency).astype(np.float32) / np.float32(255.0)
    if _is_pil(saliency):
        return prediction_from_pil(saliency, "the map").astype(np.float32) / np.float32(255.0)
    array = np.asarray(saliency)
    if array.size == 0:
        raise ValueError(f"a saliency map is empty (shape {array.shape})")
    if array.ndim == 3:
        array = array[:, :, 0]
    if array.ndim != 2:
        raise ValueError(f"a saliency map is (H, W), not {np.asarray(saliency).shape}")
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if array.dtype == np.uint16:
        return (array.astype(np.float64) / 65535.0).astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        _integer_range(array, 255, "a saliency map", "scale it to 0..255 or to floats in [0, 1]")
        return array.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(array.dtype, np.floating):
        _float_range(array, "a saliency map")
        return np.clip(array.astype(np.float32), 0.0, 1.0)
    raise ValueError(f"a saliency map is uint8, uint16, bool or float in [0, 1], not {array.dtype}")


def _is_pil(value: Any) -> bool:
    """A PIL image, recognised without importing PIL for every call."""
    return hasattr(value, "convert") and hasattr(value, "size") and hasattr(value, "mode")


def _decode(data: bytes):
    from PIL import Image, ImageOps, UnidentifiedImageError

    from weaksal.data.imageio import max_pixels

    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels():
            raise ValueError(
                f"the image bytes claim {width}x{height} pixels, over the limit of"
                f" {max_pixels():,} (raise WEAKSAL_MAX_PIXELS if the data is trusted)"
            )
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as exc:
        raise ValueError(
            f"the bytes are not an image file PIL can read ({exc}); pass the file's raw bytes"
        ) from None
    return ImageOps.exif_transpose(image)


def _channels_last(array: np.ndarray, what: str) -> np.ndarray:
    if array.size == 0:
        raise ValueError(f"an {what} array is empty (shape {array.shape})")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)):
        return array
    if array.ndim == 3 and array.shape[0] in (1, 3, 4):
        raise ValueError(
            f"an {what} array of shape {array.shape} looks channels-first: weaksal reads"
            " (H, W, C); pass array.transpose(1, 2, 0)"
        )
    raise ValueError(f"an {what} array is (H, W), (H, W, 3) or (H, W, 4), not {array.shape}")


def _image_levels(array: np.ndarray) -> np.ndarray:
    """``uint8`` levels of an (H, W, 3) array by its dtype's rule (module doc)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return np.rint(array.astype(np.float64) / 257.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        _integer_range(array, 255, "an integer image array", "pass uint8 (or uint16) data")
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        _float_range(array, "a float image array")
        return np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ValueError(f"an image array is uint8, uint16, bool or float in [0, 1], not {array.dtype}")


def _integer_range(array: np.ndarray, top: int, what: str, fix: str) -> None:
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > top:
        raise ValueError(f"{what} of dtype {array.dtype} holds {low}..{high}, not 0..{top}: {fix}")


def _float_range(array: np.ndarray, what: str) -> None:
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinite values: pass finite values in [0, 1]")
    low, high = float(array.min()), float(array.max())
    if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
        raise ValueError(
            f"{what} must be in [0, 1] (it holds {low:g}..{high:g}): divide 0..255 data by 255"
            " (or pass it as uint8)"
        )
