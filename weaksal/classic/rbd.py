"""Saliency optimisation from robust background detection (RBD, "wCtr*").

Reference
---------
W. Zhu, S. Liang, Y. Wei and J. Sun, "Saliency Optimization from Robust
Background Detection", CVPR 2014.

The image is cut into SLIC superpixels. A region that is well connected to the
image border along colour-geodesic paths is probably background (*boundary
connectivity*, Eqs. 2-5). Its background probability (Eq. 7) weights a
spatially local colour contrast (Eq. 8), the foreground cue. Both cues and a
smoothness prior enter a quadratic cost (Eq. 9) whose minimiser, one linear
solve, is the region saliency.

Two variants
------------
``"paper"`` implements the equations with the constants printed in the
paper. ``"authors"`` (default: it reproduces the published numbers; the paper's
constants alone do not) adds what the authors' released MATLAB code does on
top of them, which is what produced the maps behind the published benchmark
numbers: geodesic edge costs reduced by the typical neighbour distance,
similarity sigmas adapted to the image's colour statistics and truncated at
3 sigma, a spatial sigma of 0.4, contrast below its Otsu threshold set to 0,
background weights multiplied by 5 (1000 for regions with BndCon > 3),
smoothness links to second neighbours and between boundary regions, and
boundary regions taken as those within 8 pixels of the border. Only the
removal of artificial image frames is left out.

Units: colours are CIE Lab (L in 0..100) as computed by
:func:`weaksal.classic.superpixels.region_graph`, so colour distances and
colour sigmas are in Lab units; centroids are normalised to [0, 1] on each
axis, so spatial distances and ``SIGMA_SPA`` are fractions of the image side.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.linalg import solve
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra
from scipy.spatial.distance import cdist
from skimage.filters import threshold_otsu
from threadpoolctl import threadpool_limits

from weaksal.classic._registry import DETECTORS
from weaksal.classic.superpixels import RegionGraph, region_graph, slic_superpixels

Variant = Literal["paper", "authors"]

# Constants of the paper.
#: Colour sigma of the geodesic similarity (Eq. 3) and of the smoothness weight (Eq. 9), Lab.
SIGMA_CLR = 10.0
#: Sigma turning boundary connectivity into background probability (Eq. 7), dimensionless.
SIGMA_BNDCON = 1.0
#: Spatial sigma of the contrast weight (Eq. 8), in normalised image coordinates.
SIGMA_SPA = 0.25
#: Constant added to every smoothness weight (Eq. 9); it flattens cluttered regions.
MU = 0.1
#: SLIC compactness (colour-versus-space trade-off, Lab units per grid step). 20 is the value
#: of the SLIC call in the authors' and in the manifold-ranking code; with 600 regions on a
#: 300 x 400 image (grid step about 14 px) it gives nearly regular regions that still follow
#: strong edges.
SLIC_COMPACTNESS = 20.0

# Extra constants of the authors' released code (variant "authors").
#: Spatial sigma of the contrast weight in the released code.
AUTHORS_SIGMA_SPA = 0.4
#: Global weight of the background term of Eq. 9 (> 1: trust the background cue more).
AUTHORS_BG_LAMBDA = 5.0
#: Regions with BndCon above this are certain background ...
AUTHORS_CERTAIN_BNDCON = 3.0
#: ... and get this background weight (before ``AUTHORS_BG_LAMBDA``).
AUTHORS_CERTAIN_WEIGHT = 1000.0
#: Width of the border band, in pixels, whose regions count as boundary regions.
AUTHORS_BORDER_BAND = 8
#: Fraction of the largest neighbour colour distances averaged as the image's contrast level.
AUTHORS_TOP_RATE = 0.01


@DETECTORS.register("rbd", reference="Zhu et al., CVPR 2014")
def rbd(image: np.ndarray, n_segments: int = 600, *, variant: Variant = "authors") -> np.ndarray:
    """Optimised background-weighted-contrast saliency (wCtr*) of an RGB image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        RGB image; a (H, W) grey image is accepted too.
    n_segments : int, optional
        Approximate number of SLIC superpixels.
    variant : {"authors", "paper"}, optional
        ``"paper"`` (the paper's equations and constants) or ``"authors"`` (with the
        additions of the released code, which reproduce the published numbers; see the
        module docstring).

    Returns
    -------
    (H, W) uint8 ndarray
        Saliency map, min-max scaled to 0..255 (all zeros when the region saliency is
        constant, e.g. on a uniform image).

    Raises
    ------
    ValueError
        For an unknown variant.

    References
    ----------
    .. [1] W. Zhu, S. Liang, Y. Wei and J. Sun, "Saliency Optimization from Robust
       Background Detection", CVPR 2014.
    """
    if variant not in ("paper", "authors"):
        raise ValueError(f"variant must be 'paper' or 'authors', not {variant!r}")
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image.astype(np.uint8, copy=False)
    labels = slic_superpixels(image, n_segments=n_segments, compactness=SLIC_COMPACTNESS)
    graph = region_graph(image, labels)
    # One BLAS thread: on a few hundred regions thread start-up and spinning cost more than the
    # work (5x slower on a busy 2-core machine).
    with threadpool_limits(limits=1):
        saliency = paper_saliency(graph) if variant == "paper" else authors_saliency(graph)
    low, high = saliency.min(), saliency.max()
    if high - low <= 1e-12:
        return np.zeros(labels.shape, np.uint8)
    scaled = (saliency - low) / (high - low) * 255.0
    return np.rint(graph.paint(scaled)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Building blocks (Eqs. 2-9)


def colour_distances(graph: RegionGraph) -> np.ndarray:
    """(n, n) Euclidean distances between region mean colours, d_app, in Lab units."""
    return cdist(graph.mean_lab, graph.mean_lab)


def gaussian_similarity(distance: np.ndarray, sigma: float, truncate: bool = False) -> np.ndarray:
    """``exp(-d^2 / (2 sigma^2))``; with ``truncate``, 0 beyond 3 sigma (released code)."""
    similarity = np.exp(-(np.asarray(distance, np.float64) ** 2) / (2.0 * sigma**2))
    if truncate:
        similarity[distance > 3.0 * sigma] = 0.0
    return similarity


def geodesic_distances(
    graph: RegionGraph,
    boundary: np.ndarray | None = None,
    edge_clip: float = 0.0,
    limit: float = np.inf,
) -> np.ndarray:
    """(n, n) geodesic colour distances d_geo between all regions (Eq. 2), Lab units.

    Paths run over neighbouring regions and, as in the paper, over direct links
    between any two boundary regions (a background split by the object stays
    connected). A step costs the Lab distance of its endpoints, less
    ``edge_clip`` (floored at 0; the released code subtracts the typical
    neighbour distance so that texture does not add up along long paths).
    ``boundary`` overrides ``graph.boundary``. Distances above ``limit`` are
    returned as ``inf`` (the search stops there, which saves most of the time).

    Parameters
    ----------
    graph : RegionGraph
        Region statistics; ``mean_lab``, ``adjacency`` and ``boundary`` are used.
    boundary : (n,) bool ndarray, optional
        Boundary regions, instead of ``graph.boundary``.
    edge_clip : float, optional
        Amount subtracted from every step cost, Lab units (paper: 0).
    limit : float, optional
        Largest distance computed.

    Returns
    -------
    (n, n) float64 ndarray
        Symmetric, 0 on the diagonal, ``inf`` beyond ``limit``.
    """
    boundary = graph.boundary if boundary is None else np.asarray(boundary, bool)
    step_cost = np.maximum(colour_distances(graph) - edge_clip, 0.0)
    linked = graph.adjacency | np.outer(boundary, boundary)
    np.fill_diagonal(linked, False)
    # Non-edges are infinite rather than zero, so that linked regions of identical colour keep
    # their zero-cost edge (a zero entry would otherwise read as "no edge").
    edges = csgraph_from_dense(np.where(linked, step_cost, np.inf), null_value=np.inf)
    return dijkstra(edges, directed=False, limit=limit)


def boundary_connectivity(
    graph: RegionGraph,
    *,
    sigma_clr: float = SIGMA_CLR,
    boundary: np.ndarray | None = None,
    edge_clip: float = 0.0,
    truncate: bool = False,
) -> np.ndarray:
    """Boundary connectivity BndCon of every region (Eqs. 3-5), dimensionless.

    Parameters
    ----------
    graph : RegionGraph
        Region statistics; ``mean_lab``, ``adjacency`` and ``boundary`` are used.
    sigma_clr : float, optional
        Colour sigma of the geodesic similarity, Lab units (paper: 10).
    boundary : (n,) bool ndarray, optional
        Boundary regions, instead of ``graph.boundary``.
    edge_clip : float, optional
        Amount subtracted from every geodesic step cost (paper: 0).
    truncate : bool, optional
        Set similarities beyond 3 ``sigma_clr`` to 0 (paper: no).

    Returns
    -------
    (n,) float64 ndarray
        ``Len_bnd / sqrt(Area)``. In a uniform image whose border holds ``b`` of its
        ``n`` regions every region scores ``b / sqrt(n)``; a region whose colour is far
        from everything on the border scores near 0.
    """
    boundary = graph.boundary if boundary is None else np.asarray(boundary, bool)
    # Beyond 10 sigma the similarity is below 2e-22: even summed over 1e5 regions it is lost
    # next to the self term 1 of Area in double precision, so the search may stop there
    # (at 3 sigma when truncating, as the released code does).
    limit = (3.0 if truncate else 10.0) * sigma_clr
    d_geo = geodesic_distances(graph, boundary, edge_clip, limit)
    # Eq. 3: soft spanning area, each region counted by its geodesic similarity (self = 1).
    similarity = gaussian_similarity(d_geo, sigma_clr, truncate)
    area = similarity.sum(axis=1)
    # Eq. 4: soft length along the image boundary, the same sum over boundary regions only.
    boundary_length = similarity[:, boundary].sum(axis=1)
    # Eq. 5.
    return boundary_length / np.sqrt(area)


def background_probability(bnd_con: np.ndarray) -> np.ndarray:
    """Background probability w_bg from boundary connectivity (Eq. 7), in [0, 1)."""
    return 1.0 - np.exp(-(np.asarray(bnd_con) ** 2) / (2.0 * SIGMA_BNDCON**2))


def weighted_contrast(
    graph: RegionGraph, w_bg: np.ndarray, sigma_spa: float = SIGMA_SPA, truncate: bool = False
) -> np.ndarray:
    """Background-weighted contrast wCtr of every region (Eq. 8), Lab units.

    Contrast against probable background counts fully and against probable
    foreground hardly at all, so that a large object does not cancel its own
    contrast. ``w_spa`` (Eq. 8) uses centroid distances in normalised coordinates.
    """
    w_spa = gaussian_similarity(cdist(graph.centroids, graph.centroids), sigma_spa, truncate)
    return (colour_distances(graph) * w_spa) @ w_bg


def min_max(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1]; all zeros when they are constant."""
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


def minimise_cost(w_bg: np.ndarray, w_fg: np.ndarray, w_smooth: np.ndarray) -> np.ndarray:
    """Region saliency s minimising the cost of Eq. 9, (n,) float64 in [0, 1].

    cost(s) = sum_i w_bg_i s_i^2 + sum_i w_fg_i (1 - s_i)^2 + sum_{i<j} w_ij (s_i - s_j)^2.

    Each linked pair counts once (as in the released code). Setting the
    gradient to zero gives ``(diag(w_bg) + diag(w_fg) + L) s = w_fg``, L the
    graph Laplacian of the symmetric (n, n) ``w_smooth`` (zero diagonal).
    """
    laplacian = np.diag(w_smooth.sum(axis=1)) - w_smooth
    system = laplacian + np.diag(w_bg + w_fg)
    # Positive definite: L is positive semi-definite with only constants in its null space (the
    # region graph of an image is connected), and w_bg > 0 on every boundary region.
    return np.clip(solve(system, w_fg, assume_a="pos"), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# The two variants


def paper_saliency(graph: RegionGraph) -> np.ndarray:
    """Region saliency wCtr* with the paper's equations and constants.

    Parameters
    ----------
    graph : RegionGraph
        The image's superpixels.

    Returns
    -------
    (n,) float64 ndarray
        Saliency of each region: the minimiser of Eq. 9, clipped to [0, 1].
    """
    w_bg = background_probability(boundary_connectivity(graph))  # Eqs. 2-5, 7
    # The foreground weight of Eq. 9 is wCtr (Eq. 8) scaled to [0, 1], to balance w_bg.
    w_fg = min_max(weighted_contrast(graph, w_bg))
    # Eq. 9 smoothness: spatially adjacent pairs, w_ij = exp(-d_app^2 / (2 sigma_clr^2)) + mu.
    adjacency = graph.adjacency & ~np.eye(graph.n, dtype=bool)
    w_smooth = np.where(adjacency, gaussian_similarity(colour_distances(graph), SIGMA_CLR) + MU, 0)
    return minimise_cost(w_bg, w_fg, w_smooth)


def border_band_regions(labels: np.ndarray, width: int = AUTHORS_BORDER_BAND) -> np.ndarray:
    """(n,) bool: regions with a pixel within ``width`` pixels of the image border."""
    band = np.zeros(labels.shape, bool)
    band[:width], band[-width:], band[:, :width], band[:, -width:] = True, True, True, True
    out = np.zeros(int(labels.max()) + 1, bool)
    out[np.unique(labels[band])] = True
    return out


def authors_saliency(graph: RegionGraph) -> np.ndarray:
    """Region saliency wCtr* as the authors' released code computes it.

    The equations are those of :func:`paper_saliency`; the differences are
    listed in the module docstring.

    Parameters
    ----------
    graph : RegionGraph
        The image's superpixels.

    Returns
    -------
    (n,) float64 ndarray
        Saliency of each region, in [0, 1].
    """
    d_app = colour_distances(graph)
    adjacency = graph.adjacency & ~np.eye(graph.n, dtype=bool)
    # Sparse product: a dense integer matrix product of 600 x 600 would dominate the run time.
    hops = csr_matrix(adjacency, dtype=np.float64)
    two_ring = (hops @ hops).toarray() > 0
    two_ring |= adjacency
    np.fill_diagonal(two_ring, False)
    boundary = border_band_regions(graph.labels)

    # Colour statistics of the image, in Lab units: how close a region's most similar neighbour
    # (or second neighbour) typically is, and how strong the strongest edges are.
    nearest_neighbour = np.where(adjacency, d_app, np.inf).min(axis=1).mean()
    nearest_in_two_ring = np.where(two_ring, d_app, np.inf).min(axis=1).mean()
    edge_distances = np.sort(d_app[np.triu(adjacency, 1)])[::-1]
    strongest = edge_distances[: max(1, round(AUTHORS_TOP_RATE * edge_distances.size))].mean()
    sigma_geo = max(min(SIGMA_CLR, 3.0 * nearest_neighbour, strongest / 10.0), 5.0)
    # Floored so that a uniform image (all distances 0) does not divide by zero.
    sigma_smooth = max(min(3.0 * nearest_neighbour, 0.2 * strongest, 20.0), 1e-6)

    bnd_con = boundary_connectivity(
        graph, sigma_clr=sigma_geo, boundary=boundary, edge_clip=nearest_in_two_ring, truncate=True
    )
    w_bg = background_probability(bnd_con)
    w_fg = min_max(weighted_contrast(graph, w_bg, AUTHORS_SIGMA_SPA, truncate=True))
    if w_fg.max() > 0:
        # Weak contrast is dropped so that the foreground cue is clean.
        w_fg[w_fg < threshold_otsu(w_fg)] = 0.0
    bg_weight = np.where(bnd_con > AUTHORS_CERTAIN_BNDCON, AUTHORS_CERTAIN_WEIGHT, w_bg)

    smooth_links = two_ring | np.outer(boundary, boundary)
    np.fill_diagonal(smooth_links, False)
    w_smooth = np.where(smooth_links, gaussian_similarity(d_app, sigma_smooth, truncate=True), 0)
    w_smooth += MU * adjacency
    return minimise_cost(AUTHORS_BG_LAMBDA * bg_weight, w_fg, w_smooth)
