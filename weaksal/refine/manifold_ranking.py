"""MWS's pseudo-label refinement by manifold ranking (Zeng et al., CVPR 2019, Sec. 3.4, Eq. 8).

Seeds are the superpixels whose mean is at least ``seed_factor`` times the
map's mean in every source map; they are ranked on the MR graph
(:mod:`weaksal.classic.mr`, Yang et al., CVPR 2013), the ranking is
normalised and binarised at its mean. Defaults are those of the original
code: 200 SLIC regions, compactness 20, theta 10, alpha 0.99.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from weaksal.classic.mr import minmax, ranking_affinity, ranking_operator
from weaksal.classic.superpixels import region_graph, slic_superpixels
from weaksal.refine.maps import probability_map


def _seeds(region_values: np.ndarray, map_mean: float, factor: float = 2.0) -> np.ndarray:
    """Regions at least ``factor`` times as salient as the map's mean (never regions at zero)."""
    return (region_values >= factor * map_mean) & (region_values > 0)


def mr_refine(
    image: np.ndarray,
    maps: Sequence[np.ndarray],
    n_segments: int = 200,
    compactness: float = 20.0,
    theta: float = 10.0,
    alpha: float = 0.99,
    labels: np.ndarray | None = None,
    seed_factor: float = 2.0,
) -> np.ndarray:
    """MWS refinement of one or more saliency maps into a binary mask.

    Each network attends to what its own task needs (CNet to the categories, PNet to the
    caption); ranking every superpixel by its colour similarity to seeds salient in all
    the maps brings in low-level colour similarity, so that the labels cover the
    generally salient regions (the paper's reason for this step).

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    maps : sequence of (h, w) ndarray
        Saliency maps (uint8, or float in [0, 1]) of any size; each is resized to the
        image. MWS refines the CNet and PNet maps together.
    n_segments, compactness : int, float, optional
        SLIC regions and compactness (200 and 20, the original code's).
    theta : float, optional
        Edge weights ``exp(-theta * d)``, d the normalised Lab distance (10).
    alpha : float, optional
        The ranking is ``(D - alpha W)^-1 y`` (0.99).
    labels : (H, W) integer ndarray, optional
        Precomputed superpixels instead of SLIC.
    seed_factor : float, optional
        Seeds are regions whose mean is >= ``seed_factor`` x the map's mean in every map
        (and above zero; the code's factor is 2, the paper's "larger than the mean" is 1).

    Returns
    -------
    (H, W) uint8 ndarray
        0/255: the regions whose normalised ranking is at least its mean. When no region
        qualifies as a seed in all maps, the mean of the maps gives the seeds instead
        (the original code is silent on this case), and without any seed the mask is
        empty.

    Raises
    ------
    ValueError
        If ``maps`` is empty.

    References
    ----------
    .. [1] Y. Zeng, Y. Zhuge, H. Lu, L. Zhang, M. Qian and Y. Yu, "Multi-source Weak
       Supervision for Saliency Detection", CVPR 2019, Section 3.4, Eq. 8.
    .. [2] C. Yang, L. Zhang, H. Lu, X. Ruan and M.-H. Yang, "Saliency Detection via
       Graph-based Manifold Ranking", CVPR 2013.
    """
    height, width = image.shape[:2]
    resized = [probability_map(saliency, (height, width)) for saliency in maps]
    if not resized:
        raise ValueError("mr_refine needs at least one map")
    if labels is None:
        labels = slic_superpixels(image, n_segments, compactness)
    graph = region_graph(image, labels)
    region_values = [graph.region_mean(saliency) for saliency in resized]
    seeds = np.logical_and.reduce(
        [
            _seeds(values, saliency.mean(), seed_factor)
            for values, saliency in zip(region_values, resized, strict=True)
        ]
    )
    if not seeds.any():
        seeds = _seeds(
            np.mean(region_values, axis=0),
            float(np.mean([s.mean() for s in resized])),
            seed_factor,
        )
    if not seeds.any():
        return np.zeros((height, width), np.uint8)
    ranked = minmax(
        ranking_operator(ranking_affinity(graph, theta), alpha) @ seeds.astype(np.float64)
    )
    return graph.paint(np.where(ranked >= ranked.mean(), 255, 0).astype(np.uint8))
