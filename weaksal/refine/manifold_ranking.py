"""MWS's pseudo-label refinement by manifold ranking (Zeng et al., CVPR 2019, Sec. 3.3).

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
from weaksal.refine.maps import probability_map
from weaksal.superpixels import region_graph, slic_superpixels


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
    """MWS refinement of one or more saliency maps into a binary mask (uint8 0/255).

    ``maps`` are (H, W) maps (uint8, or float in [0, 1]) of any size; each is
    resized to the image. Seeds are regions whose mean is >= ``seed_factor`` x
    the map's mean in every map (and above zero; the code's factor is 2, the
    paper's "larger than the mean" is 1); when no region qualifies in all of them, the
    mean of the maps gives the seeds instead (the original code is silent on
    this case), and without any seed the mask is empty.
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
