"""A cut-out of a photo in one call: ``weaksal.cutout("photo.jpg")`` -> a PIL RGBA image.

The detector's map becomes the alpha channel, its edges moved onto the
photo's own with the guided filter (:mod:`weaksal.refine.guided_filter`), so
the object comes out without the halo a resized map leaves. Any input kind
the detectors take works (a path, bytes, a PIL image, an array); a
background colour or a blur of the photo gives an RGB image instead.

>>> import weaksal
>>> weaksal.cutout("photo.jpg").save("photo.png")                       # doctest: +SKIP
>>> weaksal.cutout(pil_image, background="white")                       # doctest: +SKIP
>>> lps = weaksal.load("mr", promote="lps")
>>> [weaksal.cutout(p, model=lps, background="blur") for p in photos]    # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: how strongly ``background="blur"`` blurs, as a share of the photo's longer side
BLUR_SHARE = 0.02


def cutout(
    image: Any,
    model: Any = "wss",
    *,
    background: str | tuple[int, int, int] | None = None,
    edges: str = "guided",
    threshold: float | None = None,
):
    """The photo with the salient object kept: alpha from the map, or composited on a background.

    Parameters
    ----------
    image : path, bytes, PIL image or array
        One photo (:mod:`weaksal.data.inputs`).
    model : str, Path or Detector
        What makes the map: a name or file for :func:`weaksal.load`, or a
        detector already loaded (reuse one across many photos).
    background : None, colour or "blur"
        None: an RGBA image (transparent background). A colour (``"white"``,
        ``"#00ff00"``, ``(0, 0, 0)``): the object on it, RGB. ``"blur"``: the object
        on a blurred copy of the photo, RGB.
    edges : {"guided", "map"}
        ``guided``: the alpha refined on the photo's edges; ``map``: the map as is.
    threshold : float, optional
        A hard alpha: the (refined) map at least this value is opaque, the rest clear.

    Returns
    -------
    PIL.Image.Image
        RGBA (no background) or RGB, at the photo's size.
    """
    from PIL import Image, ImageColor

    from weaksal.api.detectors import Detector, load
    from weaksal.data.inputs import as_rgb

    if edges not in ("guided", "map"):
        raise ValueError(f"edges must be 'guided' or 'map', not {edges!r}")
    detector = model if isinstance(model, Detector) else load(model)
    if not hasattr(detector, "maps") or getattr(detector, "output", "saliency") != "saliency":
        raise ValueError(f"{model!r} gives no saliency map: pass a saliency model or detector")
    rgb = as_rgb(image)
    alpha = detector(rgb)
    if edges == "guided":
        from weaksal.refine.guided_filter import guided_filter

        alpha = guided_filter(rgb, alpha)
    if threshold is not None:
        alpha = (alpha >= threshold).astype(np.float32)
    if background is None:
        levels = np.round(alpha * 255).astype(np.uint8)
        return Image.fromarray(np.concatenate([rgb, levels[..., None]], axis=2), mode="RGBA")
    if isinstance(background, str) and background == "blur":
        import cv2

        sigma = max(1.0, BLUR_SHARE * max(rgb.shape[:2]))
        behind = cv2.GaussianBlur(rgb, (0, 0), sigma).astype(np.float32)
    else:
        colour = ImageColor.getrgb(background) if isinstance(background, str) else background
        behind = np.broadcast_to(np.asarray(colour[:3], np.float32), rgb.shape)
    weight = alpha[..., None]
    composite = rgb.astype(np.float32) * weight + behind * (1.0 - weight)
    return Image.fromarray(np.round(composite).astype(np.uint8), mode="RGB")
