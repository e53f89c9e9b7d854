"""RBD (Zhu et al., CVPR 2014): boundary connectivity against a hand computation on a
tiny region graph, both variants on a synthetic scene, and on real ECSSD images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weaksal.classic.rbd import (
    authors_saliency,
    boundary_connectivity,
    geodesic_distances,
    paper_saliency,
    rbd,
)
from weaksal.classic.superpixels import RegionGraph, region_graph, slic_superpixels
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.metrics import SaliencyEvaluator

VARIANTS = ("paper", "authors")


def tiny_graph() -> RegionGraph:
    """Four border regions around one interior region (4), with hand-picked Lab colours.

    0 0 1 1       L: 0 and 3 -> 50, 1 and 2 -> 90, 4 -> 70 (a = b = 0)
    2 4 4 1       adjacent: 0-1 0-2 1-3 2-3 (40 apart), 4 with all (20 apart)
    2 4 4 3       not adjacent: 0-3 and 1-2, linked only as boundary regions
    2 3 3 3
    """
    labels = np.array([[0, 0, 1, 1], [2, 4, 4, 1], [2, 4, 4, 3], [2, 3, 3, 3]], np.int32)
    adjacency = np.zeros((5, 5), bool)
    for a, b in [(0, 1), (0, 2), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4)]:
        adjacency[a, b] = adjacency[b, a] = True
    lightness = np.array([50.0, 90.0, 90.0, 50.0, 70.0])
    sizes = np.bincount(labels.ravel()).astype(float)
    rows, cols = np.mgrid[:4, :4] / 3.0
    centroids = np.stack(
        [np.bincount(labels.ravel(), weights=c.ravel()) / sizes for c in (rows, cols)], axis=1
    )
    return RegionGraph(
        labels=labels,
        sizes=sizes,
        mean_rgb=np.zeros((5, 3)),
        mean_lab=np.stack([lightness, np.zeros(5), np.zeros(5)], axis=1),
        centroids=centroids,
        adjacency=adjacency,
        sides={
            "top": np.array([1, 1, 0, 0, 0], bool),
            "bottom": np.array([0, 0, 1, 1, 0], bool),
            "left": np.array([1, 0, 1, 0, 0], bool),
            "right": np.array([0, 1, 0, 1, 0], bool),
        },
    )


def test_geodesic_distance_keeps_zero_cost_boundary_links():
    d_geo = geodesic_distances(tiny_graph())
    # 0-3 and 1-2 are not neighbours, but as boundary regions of equal colour they are
    # linked at cost 0; 0-1 costs 40 whichever way; the interior region is 20 from all.
    expected = np.array(
        [
            [0, 40, 40, 0, 20],
            [40, 0, 0, 40, 20],
            [40, 0, 0, 40, 20],
            [0, 40, 40, 0, 20],
            [20, 20, 20, 20, 0],
        ],
        float,
    )
    assert np.allclose(d_geo, expected)


def test_boundary_connectivity_matches_hand_computation():
    # similarity exp(-d^2 / 200): 1 at d = 0, e^-2 at 20, e^-8 at 40
    # border region: Area = 1 + 1 + 2 e^-8 + e^-2, Len_bnd = 2 + 2 e^-8  -> 1.368908
    # interior:      Area = 1 + 4 e^-2,            Len_bnd = 4 e^-2       -> 0.436035
    e2, e8 = math.exp(-2), math.exp(-8)
    border = (2 + 2 * e8) / math.sqrt(2 + 2 * e8 + e2)
    interior = 4 * e2 / math.sqrt(1 + 4 * e2)
    bnd_con = boundary_connectivity(tiny_graph())
    assert np.allclose(bnd_con, [border, border, border, border, interior], rtol=1e-12)
    assert bnd_con[0] == pytest.approx(1.368908, abs=1e-6)
    assert bnd_con[4] == pytest.approx(0.436035, abs=1e-6)


def test_boundary_connectivity_of_a_uniform_image_is_border_count_over_root_n():
    graph = tiny_graph()
    graph.mean_lab[:] = 50.0
    assert np.allclose(boundary_connectivity(graph), 4 / math.sqrt(5))


def scene(noise: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """A uniform red rectangle in the middle of a (slightly noisy) blue background."""
    height, width = 120, 160
    image = np.empty((height, width, 3))
    image[:] = (60, 100, 170)
    image += np.random.default_rng(0).normal(0, noise, image.shape)
    inside = np.zeros((height, width), bool)
    inside[40:80, 50:110] = True
    image[inside] = (210, 50, 40)
    return np.clip(image, 0, 255).astype(np.uint8), inside


def test_object_regions_have_low_boundary_connectivity():
    image, inside = scene()
    graph = region_graph(image, slic_superpixels(image, 150, 20.0))
    is_object = graph.region_fraction(inside) > 0.5
    bnd_con = boundary_connectivity(graph)
    assert is_object.sum() >= 5 and (~is_object).sum() >= 50
    assert bnd_con[is_object].max() < 0.05
    assert bnd_con[~is_object].min() > 1.0


@pytest.mark.parametrize("variant", VARIANTS)
def test_object_is_salient_and_background_is_not(variant):
    image, inside = scene()
    saliency = rbd(image, 150, variant=variant)
    assert saliency.shape == inside.shape and saliency.dtype == np.uint8
    assert saliency.max() == 255
    core = np.zeros_like(inside)
    core[45:75, 55:105] = True  # away from superpixels that straddle the object's edge
    assert saliency[core].mean() > 230
    assert saliency[~inside].mean() < 15


@pytest.mark.parametrize("variant", VARIANTS)
def test_deterministic(variant):
    image, _ = scene(noise=15.0)
    first = rbd(image, 150, variant=variant)
    assert np.array_equal(first, rbd(image.copy(), 150, variant=variant))


def test_uniform_and_grey_images():
    assert not rbd(np.full((40, 50, 3), 128, np.uint8), 50).any()
    image, _ = scene()
    grey = image.mean(axis=2).astype(np.uint8)
    assert rbd(grey, 100).shape == grey.shape
    with pytest.raises(ValueError, match="variant"):
        rbd(image, 100, variant="matlab")


def test_region_saliency_lies_in_unit_interval():
    image, _ = scene(noise=25.0)
    graph = region_graph(image, slic_superpixels(image, 150, 20.0))
    for saliency in (paper_saliency(graph), authors_saliency(graph)):
        assert saliency.shape == (graph.n,)
        assert saliency.min() >= 0.0 and saliency.max() <= 1.0


@pytest.mark.data
def test_beats_a_constant_map_on_ecssd(real_data):
    # Measured on these 16 images (every 66th): MAE paper 0.259, authors 0.143, constant grey
    # 0.501. Full ECSSD (1000): paper adaptive F 0.434, MAE 0.323; authors 0.680, 0.164
    # (published: 0.676, 0.171). The paper's equations alone leave the background grey.
    samples = list(index_saliency(real_data / "ECSSD"))[::66]
    evaluators = {name: SaliencyEvaluator(structure=False) for name in (*VARIANTS, "grey")}
    for sample in samples:
        image, gt = read_image(sample.image), read_mask(sample.mask)
        for variant in VARIANTS:
            evaluators[variant].step(rbd(image, variant=variant), gt)
        evaluators["grey"].step(np.full(gt.shape, 128, np.uint8), gt)
    mae = {name: ev.results()["mae"] for name, ev in evaluators.items()}
    assert mae["grey"] > 0.45
    assert mae["paper"] < mae["grey"] - 0.12
    assert mae["authors"] < mae["grey"] - 0.25
    assert mae["authors"] < mae["paper"]
