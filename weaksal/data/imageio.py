"""Robust reading of images, masks, depth maps and label maps.

What arrives in real datasets: JPEG/PNG/BMP/TIFF/WebP; greyscale, palette,
RGBA, 16-bit; EXIF-rotated phone photos; masks stored 0/1, 0/255, 1-bit or
anti-aliased grey. Each reader returns one canonical array and raises a
:class:`~weaksal.plumbing.errors.DataError` naming the file when it cannot.

Conventions
-----------
* Images come back as ``uint8 (H, W, 3)`` RGB, after EXIF orientation;
  alpha is dropped, greyscale is replicated, 16-bit is scaled to 8 bits.
* Masks (ground truth) come back as ``uint8 (H, W)`` grey in 0..255. A mask
  whose values are all 0 or 1 is read as 0/255 (otherwise it would binarise to
  all background).
* Predicted maps (:func:`read_prediction`) come back as the grey levels written:
  the 0/1 rule is for ground truth only.
  Binary ground truth is ``mask > 128`` (the PySODMetrics convention), so
  anti-aliased grey edges are split at 128.
* Depth comes back as ``float32 (H, W)`` in [0, 1] (min-max over the file's
  dtype range, not per image, so near/far stays comparable across images).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from weaksal.plumbing.errors import CorruptFileError, DecompressionBombError, DuplicateStemError

#: channels further apart than this anywhere make an RGB mask a colour mask (a grey mask
#: saved as RGB, even as JPEG, keeps its grey levels)
COLOUR_SPREAD = 16
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Largest image accepted, in pixels (Pillow's own default). Raise it with the
#: environment variable ``WEAKSAL_MAX_PIXELS`` for trusted, very large images.
DEFAULT_MAX_PIXELS = 178_956_970

GT_THRESHOLD = 128  # binary ground truth is grey > GT_THRESHOLD


def max_pixels() -> int:
    return int(os.environ.get("WEAKSAL_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def files_by_stem(folder: Path) -> dict[str, Path]:
    """Image files of one folder keyed by stem; two files with one stem is an error.

    Layouts pair these by stem, and label kinds whose labels are files (depth
    maps, CapS priors) read their folder with it, so it lives below both.
    """
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not is_image_file(path):
            continue
        if path.stem in found:
            raise DuplicateStemError(
                path,
                f"shares its stem with {found[path.stem].name}, so pairing by stem is ambiguous",
                "remove or rename one of the two files",
            )
        found[path.stem] = path
    return found


def _open(path: str | Path) -> Image.Image:
    """Open, size-check and fully decode one file; orientation applied."""
    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "file does not exist", "check the path or the dataset folder")
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = previous
        width, height = image.size
        if width * height > limit:
            raise DecompressionBombError(
                path,
                f"image claims {width}x{height} = {width * height:,} pixels, over the limit of {limit:,}"
                " (a possible decompression bomb)",
                "if the file is trusted, raise the limit with WEAKSAL_MAX_PIXELS, else remove it",
            )
        image.load()
        image = ImageOps.exif_transpose(image)
    except DecompressionBombError:
        raise
    except PermissionError as exc:
        raise CorruptFileError(
            path,
            "cannot be read (permission denied)",
            "make it readable (chmod a+r) or run as its owner",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptFileError(
            path,
            f"cannot decode image ({exc})",
            "re-download or re-export the file, or remove it (`weaksal data check` lists every such file)",
        ) from exc
    return image


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale integer or float data of any depth to uint8."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        return np.clip(np.rint(array / top * 255.0), 0, 255).astype(np.uint8)
    # 16/32-bit integers: a 16-bit file may use the full range or only 0..255
    top = 255 if array.max(initial=0) <= 255 else 65535
    return np.clip(np.rint(array.astype(np.float64) / top * 255.0), 0, 255).astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as ``uint8 (H, W, 3)`` RGB."""
    return rgb_from_pil(_open(path))


def rgb_from_pil(image: Image.Image) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB of a decoded image: 16-bit and float modes scaled to 0..255
    (``convert("RGB")`` would saturate them to white), every other mode converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        grey = _to_uint8(np.asarray(image))
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def _grey(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _to_uint8(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA").convert("RGB")
    if image.mode != "L":
        image = image.convert("L")
    return np.asarray(image, dtype=np.uint8).copy()


def read_mask(path: str | Path) -> np.ndarray:
    """Read a saliency mask or map as ``uint8 (H, W)`` grey, 0..255.

    A file holding only the values 0 and 1 is scaled to 0/255, so that 0/1
    masks do not binarise to all background. Masks that are not grey are read
    by what they mean (:func:`mask_from_pil`), never as the luminance of a
    colour, which would call a red object background.
    """
    grey = mask_from_pil(_open(path))
    if grey.max(initial=0) == 1:
        grey = grey * np.uint8(255)
    return grey


def mask_from_pil(image: Image.Image) -> np.ndarray:
    """``uint8 (H, W)`` grey of a decoded mask, whatever form the mask takes.

    * a cut-out (RGBA, LA, or a palette with transparency) whose alpha varies:
      the alpha is the mask;
    * a palette image whose palette is not a grey ramp (VOC-style label maps):
      every index but 0 (background) and 255 (VOC's void border) is foreground;
    * a colour RGB mask: the brightest channel, so any non-black colour is
      foreground (a grey mask, R = G = B, reads exactly as before);
    * anything else: its grey levels.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"))[:, :, 3]
        if alpha.min(initial=255) != alpha.max(initial=255):
            return alpha.copy()
        image = image.convert("RGB")
    if image.mode == "P" and not _grey_palette(image):
        indices = np.asarray(image)
        return np.where((indices != 0) & (indices != 255), 255, 0).astype(np.uint8)
    if image.mode in ("RGB", "P"):
        rgb = np.asarray(image.convert("RGB"))
        spread = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
        if spread.max(initial=0) > COLOUR_SPREAD:  # a colour mask, not a grey one in RGB
            return rgb.max(axis=2).astype(np.uint8)
    return _grey(image)


def _grey_palette(image: Image.Image) -> bool:
    """Whether a palette image's used colours are all grey (a grey mask saved with a palette)."""
    palette = np.asarray(image.getpalette() or [], np.uint8).reshape(-1, 3)
    used = np.unique(np.asarray(image))
    used = used[used < len(palette)]
    colours = palette[used]
    return bool(len(colours)) and bool((colours == colours[:, :1]).all())


def read_prediction(path: str | Path) -> np.ndarray:
    """Read a predicted saliency map as ``uint8 (H, W)``: the grey levels as written.

    Unlike :func:`read_mask`, no 0/1 rule: a faint map whose brightest pixel
    is 1 stays faint (it must not score like an all-white map). 16-bit maps
    use their full range (value / 257), float maps are probabilities in
    [0, 1] (clipped), colour maps are converted to luminance.
    """
    return prediction_from_pil(_open(path), path)


def prediction_from_pil(image: Image.Image, source: str | Path) -> np.ndarray:
    """``uint8 (H, W)`` grey levels of a decoded map, by :func:`read_prediction`'s rules
    (``source`` names it in an error)."""
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        if not np.isfinite(array).all():
            raise CorruptFileError(
                source, "float map holds NaN or infinite values", "write finite values in [0, 1]"
            )
        return np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        return np.rint(np.clip(array, 0, 65535) / 257.0).astype(np.uint8)
    return _grey(image)


def binarize(mask: np.ndarray) -> np.ndarray:
    """Binary ground truth from a grey mask: ``mask > 128``."""
    return np.asarray(mask) > GT_THRESHOLD


def read_depth(path: str | Path) -> np.ndarray:
    """Read a depth map as ``float32 (H, W)`` in [0, 1] of its dtype's range."""
    image = _open(path)
    array = np.asarray(image)
    if array.ndim == 3:
        array = np.asarray(image.convert("L"))
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(array.min(initial=0)), float(array.max(initial=0))
        scaled = (array - low) / (high - low) if high > low else np.zeros_like(array)
        return scaled.astype(np.float32)
    top = 255.0 if array.max(initial=0) <= 255 else 65535.0
    return (array.astype(np.float32) / top).clip(0.0, 1.0)


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) from the header only, after EXIF orientation."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError(
            path, f"cannot read image header ({exc})", "re-export the file"
        ) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return height, width
