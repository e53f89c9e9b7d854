"""MR, graph-based manifold ranking on superpixels (Yang et al., CVPR 2013): the unsupervised detector.

Ranking scores relevance to a set of query nodes, h* = (D - alpha W)^-1 y,
on a superpixel graph whose edges join 4-adjacent regions, all border regions
with one another, and regions two hops apart in that graph, weighted by
exp(-theta * normalised Lab distance). The detector ranks against the regions
of each image side (background queries), multiplies the four complements,
binarises at the mean and ranks again against those foreground queries.
The ranking itself (:func:`ranking_affinity`, :func:`ranking_operator`) is
shared with MWS's pseudo-label refinement, ``weaksal.refine.manifold_ranking``.

Defaults are those of the original code: 200 SLIC regions, compactness 20,
theta 10, alpha 0.99.
"""

from __future__ import annotations

import cv2
import numpy as np

from weaksal.classic._registry import DETECTORS
from weaksal.classic.superpixels import RegionGraph, region_graph, slic_superpixels


def ranking_affinity(graph: RegionGraph, theta: float = 10.0) -> np.ndarray:
    """(n, n) edge weights exp(-theta * d), d = Lab distance min-max normalised over edges.

    As in the original code: the border regions are first joined into a loop
    (all connected), then every region is linked to its neighbours and to
    their neighbours in that looped graph, so a region next to the border
    reaches every border region in one edge. Node colour is the Lab colour of
    the region's mean RGB.

    Parameters
    ----------
    graph : RegionGraph
        The superpixels (``adjacency``, ``boundary``, ``mean_rgb``).
    theta : float, optional
        Decay of the weight with colour distance (10, the original code's).

    Returns
    -------
    (n, n) float64 ndarray
        Symmetric, zero where regions are not linked and on the diagonal.
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
    """(D - alpha W)^-1 with its diagonal zeroed, so that a query does not rank itself.

    The closed form of the ranking: ``operator @ y`` scores every region's relevance to
    the query indicator ``y``, so one inverse serves every query of an image.

    Parameters
    ----------
    weights : (n, n) ndarray
        Symmetric edge weights, as :func:`ranking_affinity` gives.
    alpha : float, optional
        Trade-off between smoothness on the graph and fit to the queries (0.99).

    Returns
    -------
    (n, n) float64 ndarray
        A region without neighbours makes D - alpha W singular; the pseudo-inverse
        (least-squares ranking) is used then.
    """
    degree = np.diag(weights.sum(axis=1))
    try:
        operator = np.linalg.inv(degree - alpha * weights)
    except np.linalg.LinAlgError:  # a region without neighbours: least-squares ranking
        operator = np.linalg.pinv(degree - alpha * weights)
    np.fill_diagonal(operator, 0.0)
    return operator


def minmax(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1]; all zeros when they are constant (nothing ranks higher).

    Parameters
    ----------
    values : ndarray

    Returns
    -------
    ndarray
        Of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> minmax(np.array([2.0, 4.0, 3.0]))
    array([0. , 1. , 0.5])
    >>> minmax(np.array([5.0, 5.0]))
    array([0., 0.])
    """
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255), 0, 255).astype(np.uint8)


@DETECTORS.register("mr", reference="Yang et al., CVPR 2013")
def manifold_ranking_saliency(
    image: np.ndarray,
    n_segments: int = 200,
    compactness: float = 20.0,
    theta: float = 10.0,
    alpha: float = 0.99,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The MR detector: two-stage manifold ranking of superpixels.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image.
    n_segments : int, optional
        SLIC regions (200, the original code's).
    compactness : float, optional
        SLIC compactness (20).
    theta : float, optional
        Edge-weight decay of :func:`ranking_affinity` (10).
    alpha : float, optional
        Of :func:`ranking_operator` (0.99).
    labels : (H, W) integer ndarray, optional
        Precomputed superpixels instead of SLIC.

    Returns
    -------
    (H, W) uint8 ndarray
        Saliency scaled to 0..255; all zeros for an image of one region (nothing stands
        out from the border).

    References
    ----------
    .. [1] C. Yang, L. Zhang, H. Lu, X. Ruan and M.-H. Yang, "Saliency Detection via
       Graph-based Manifold Ranking", CVPR 2013.
    """
    if labels is None:
        labels = slic_superpixels(image, n_segments, compactness)
    graph = region_graph(image, labels)
    if graph.n < 2:  # one region (a flat or tiny image): nothing stands out from the border
        return np.zeros(image.shape[:2], np.uint8)
    operator = ranking_operator(ranking_affinity(graph, theta), alpha)
    # Stage 1: background queries on each side; saliency = 1 - relevance
    background = np.ones(graph.n)
    for side in ("top", "bottom", "left", "right"):
        background *= 1 - minmax(operator @ graph.sides[side].astype(np.float64))
    background = minmax(background)
    # Stage 2: the regions above the mean become foreground queries
    foreground_queries = (background >= background.mean()).astype(np.float64)
    return to_uint8(graph.paint(minmax(operator @ foreground_queries)))
