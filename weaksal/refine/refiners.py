"""Every refiner by name: one registry for ``weaksal refine`` and the methods' pseudo-label stages.

A refiner turns an image and one or more saliency maps (or, for ``densecrf``
on segmentation, class probabilities) into a better map. Each produces its
natural kind of output (``soft``: grey levels 0..255; ``binary``: 0/255;
``index``: class indices); :func:`refine` converts it to the kind asked for,
so a label stage asks for ``binary`` labels and gets them from any refiner.

============  =====================================================  ==========
name          what                                                   produces
============  =====================================================  ==========
densecrf      fully connected CRF (presets mws, ssnet, jsm)          binary (mws, ssnet), soft (jsm)
itercrf       WSS's iterative superpixel CRF (Alg. 1)                binary
mr            MWS's manifold-ranking refinement of several maps      binary
threshold     the map above ``threshold`` (the ablations' baseline)  binary
============  =====================================================  ==========
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from weaksal.plumbing.registry import Registry
from weaksal.refine.maps import probability_map

Output = Literal["soft", "binary", "index"]
OUTPUTS = ("soft", "binary", "index")

#: name -> function ``(image, maps, **options) -> uint8 (H, W)``; info: ``several_maps``, ``produces``
REFINERS = Registry("refiner")


@REFINERS.register("densecrf", several_maps=False, produces="binary")
def dense_crf(image: np.ndarray, maps: Sequence[np.ndarray], preset: str = "mws") -> np.ndarray:
    """Two-label dense CRF of the first map; see :func:`.dense_crf.refine_saliency`.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    maps : sequence of ndarray
        One map.
    preset : str, optional
        ``"mws"`` (default) or ``"ssnet"``: binary; ``"jsm"``: soft.

    Returns
    -------
    (H, W) uint8 ndarray
    """
    from weaksal.refine.dense_crf import refine_saliency

    return refine_saliency(image, maps[0], preset)


@REFINERS.register("itercrf", several_maps=False, produces="binary")
def iterative(image: np.ndarray, maps: Sequence[np.ndarray], threshold: float = 0.65) -> np.ndarray:
    """WSS's iterative CRF of the first map; see :func:`.iterative_crf.iterative_crf`.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    maps : sequence of ndarray
        One map.
    threshold : float, optional
        The map starts as foreground above this (WSS round I: 0.65).

    Returns
    -------
    (H, W) uint8 ndarray
        0/255.
    """
    from weaksal.refine.iterative_crf import iterative_crf

    return iterative_crf(image, maps[0], threshold=threshold)


@REFINERS.register("mr", several_maps=True, produces="binary")
def manifold_ranking(
    image: np.ndarray, maps: Sequence[np.ndarray], seed_factor: float = 2.0
) -> np.ndarray:
    """MWS's refinement: seeds salient in every map, ranked on the superpixel graph.

    See :func:`.manifold_ranking.mr_refine`.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    maps : sequence of ndarray
        One or more maps (MWS: CNet's and PNet's).
    seed_factor : float, optional
        A seed's mean is at least this times the map's mean, in every map.

    Returns
    -------
    (H, W) uint8 ndarray
        0/255.
    """
    from weaksal.refine.manifold_ranking import mr_refine

    return mr_refine(image, maps, seed_factor=seed_factor)


@REFINERS.register("threshold", several_maps=False, produces="binary")
def threshold_map(
    image: np.ndarray, maps: Sequence[np.ndarray], threshold: float = 0.5
) -> np.ndarray:
    """``255`` where the first map (resized to the image) is above ``threshold``.

    No refinement at all: the baseline that shows what a refiner adds.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        Gives the size only.
    maps : sequence of ndarray
        One map, read by :func:`~weaksal.refine.maps.probability_map`.
    threshold : float, optional
        In [0, 1].

    Returns
    -------
    (H, W) uint8 ndarray
        0/255.
    """
    probability = probability_map(maps[0], image.shape[:2])
    return np.where(probability > threshold, 255, 0).astype(np.uint8)


def accepted_options(name: str, **candidates) -> dict:
    """The ``candidates`` refiner ``name`` takes (a stage can offer a threshold to any refiner).

    Parameters
    ----------
    name : str
        A refiner of :data:`REFINERS`.
    **candidates
        Options a stage could pass.

    Returns
    -------
    dict
        Those of ``candidates`` that are parameters of the refiner.

    Examples
    --------
    >>> accepted_options("itercrf", threshold=0.4, preset="mws")
    {'threshold': 0.4}
    """
    import inspect

    parameters = inspect.signature(REFINERS.get(name).target).parameters
    return {key: value for key, value in candidates.items() if key in parameters}


def refine(
    name: str,
    image: np.ndarray,
    maps: Sequence[np.ndarray],
    output: Output | None = None,
    **options,
) -> np.ndarray:
    """Refiner ``name`` on an RGB ``uint8`` image and its map(s).

    Parameters
    ----------
    name : str
        A refiner of :data:`REFINERS` (see the module docstring's table).
    image : (H, W, 3) uint8 ndarray
    maps : sequence of ndarray
        The map(s) to refine, uint8 or float in [0, 1], of any size; several only for a
        refiner that combines them (``mr``).
    output : {None, "soft", "binary"}, optional
        ``None`` for the refiner's own kind, ``"binary"`` (0/255, a soft result
        thresholded at 128, the project's rule for masks) or ``"soft"`` (a binary result
        is a valid soft map).
    **options
        The refiner's own options (``preset``, ``threshold``, ``seed_factor``).

    Returns
    -------
    (H, W) uint8 ndarray

    Raises
    ------
    ValueError
        For an unknown ``output``, no map, several maps for a one-map refiner, or
        ``output="index"`` (class indices come from ``refine_segmentation``).
    TypeError
        For an option the refiner does not take.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((2, 2, 3), np.uint8)
    >>> refine("threshold", image, [np.array([[0.2, 0.6], [0.8, 0.4]])])
    array([[  0, 255],
           [255,   0]], dtype=uint8)
    """
    entry = REFINERS.get(name)
    if output is not None and output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
    if not maps:
        raise ValueError(f"{name} needs a map to refine")
    if len(maps) > 1 and not entry.several_maps:
        raise ValueError(f"{name} refines one map per image; only mr combines several")
    result = entry.target(image, list(maps), **options)
    if output == "index":
        raise ValueError(f"{name} gives saliency, not class indices; use refine_segmentation")
    if output == "binary":
        return np.where(result > 128, 255, 0).astype(np.uint8)
    return result


def refine_file(
    name: str, output: Output | None, options: dict, image_path, map_paths, out_path
) -> None:
    """One image's refinement from files to a PNG (a top-level function: worker processes import it).

    Parameters
    ----------
    name, output, options
        As in :func:`refine`.
    image_path : Path
        The RGB image.
    map_paths : sequence of Path
        Its map(s): the image's size, or a scaled copy of it (resized where used).
    out_path : Path
        The PNG written (atomically).

    Raises
    ------
    SizeMismatchError
        For a map rotated or of another aspect ratio than the image: another image's map
        would give wrong labels.
    """
    from weaksal.data.imageio import read_image, read_prediction
    from weaksal.data.pairs import check_map_shape
    from weaksal.plumbing.atomic import write_png

    image = read_image(image_path)
    maps = [read_prediction(path) for path in map_paths]
    for path, found in zip(map_paths, maps, strict=True):
        check_map_shape(path, found.shape, image.shape)  # rotated or another image's: wrong labels
    write_png(out_path, refine(name, image, maps, output, **options))
