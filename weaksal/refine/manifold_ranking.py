"""Graph-based manifold ranking on superpixels (Yang et al., CVPR 2013).

Ranking scores relevance to a set of query nodes, h* = (D - alpha W)^-1 y,
on a superpixel graph whose edges join 4-adjacent regions, all border regions
with one another, and regions two hops apart in that graph, weighted by
exp(-theta * normalised Lab distance). Two uses:

* :func:`manifold_ranking_saliency`, the unsupervised MR detector: rank
  against the regions of each image side (background queries), multiply the
  four complements, binarise at the mean, rank again against those
  foreground queries;
* :func:`mr_refine`, the MWS pseudo-label refinement on unlabelled images:
  seeds are regions whose mean is at least twice the map mean in every source
  map; rank, normalise, binarise at the mean.

Defaults are those of the original code: 200 SLIC regions, compactness 20,
theta 10, alpha 0.99.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from weaksal.refine.maps import probability_map
from weaksal.refine.superpixels import RegionGraph, region_graph, slic_superpixels


def ranking_affinity(graph: RegionGraph, theta: float = 10.0) -> np.ndarray:
    """(n, n) edge weights exp(-theta * d), d = Lab distance min-max normalised over edges.

    As in the original code: the border regions are first joined into a loop
    (all connected), then every region is linked to its neighbours and to
    their neighbours in that looped graph, so a region next to the border
    reaches every border region in one edge. Node colour is the Lab colour of
    the region's mean RGB.
    """
    boundary = graph.boundary
    looped = graph.adjacency | (boundary[:, None] & boundary[None, :])
    np.fill_diagonal(looped, False)
    hops = looped.astype(np.int32)
    edges = (hops + hops @ hops) > 0
    np.fill_diagonal(edges, False)
    colour = cv2.cvtColor(
        (graph.mean_rgb / 255.0).astype(np.float32)[:, None, :], cv2.COLOR_RGB2LAB
    )[:, 0, :]
    rows, cols = np.nonzero(np.triu(edges))
    distance = np.linalg.norm(colour[rows].astype(np.float64) - colour[cols], axis=1)
    span = distance.max() - distance.min() if distance.size else 0.0
    normalised = (distance - distance.min()) / span if span > 0 else np.zeros_like(distance)
    weights = np.zeros((graph.n, graph.n))
    weights[rows, cols] = np.exp(-theta * normalised)
    return weights + weights.T


def ranking_operator(weights: np.ndarray, alpha: float = 0.99) -> np.ndarray:
    """(D - alpha W)^-1 with its diagonal zeroed, so that a query does not rank itself."""
    degree = np.diag(weights.sum(axis=1))
    operator = np.linalg.inv(degree - alpha * weights)
    np.fill_diagonal(operator, 0.0)
    return operator


def _minmax(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255), 0, 255).astype(np.uint8)


def manifold_ranking_saliency(
    image: np.ndarray,
    n_segments: int = 200,
    compactness: float = 20.0,
    theta: float = 10.0,
    alpha: float = 0.99,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The MR detector: uint8 (H, W) saliency of an RGB uint8 image."""
    if labels is None:
        labels = slic_superpixels(image, n_segments, compactness)
    graph = region_graph(image, labels)
    operator = ranking_operator(ranking_affinity(graph, theta), alpha)
    # Stage 1: background queries on each side; saliency = 1 - relevance
    background = np.ones(graph.n)
    for side in ("top", "bottom", "left", "right"):
        background *= 1 - _minmax(operator @ graph.sides[side].astype(np.float64))
    background = _minmax(background)
    # Stage 2: the regions above the mean become foreground queries
    foreground_queries = (background >= background.mean()).astype(np.float64)
    return _to_uint8(graph.paint(_minmax(operator @ foreground_queries)))


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
    ranked = _minmax(
        ranking_operator(ranking_affinity(graph, theta), alpha) @ seeds.astype(np.float64)
    )
    return graph.paint(np.where(ranked >= ranked.mean(), 255, 0).astype(np.uint8))
