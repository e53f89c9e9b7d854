import numpy as np
import pytest

from weaksal.classic.superpixels import region_graph, relabel, slic_superpixels
from weaksal.data import read_image


def test_region_graph_statistics_on_a_hand_made_partition():
    labels = np.array(
        [
            [0, 0, 1, 1, 1, 1],
            [0, 0, 1, 1, 1, 1],
            [2, 2, 2, 3, 3, 3],
            [2, 2, 2, 3, 3, 3],
        ]
    )
    image = np.zeros((4, 6, 3), np.uint8)
    image[labels == 1] = (255, 0, 0)
    image[labels == 3] = (0, 0, 100)
    graph = region_graph(image, labels)
    assert graph.n == 4
    np.testing.assert_array_equal(graph.sizes, [4, 8, 6, 6])
    expected = np.zeros((4, 4), bool)
    for a, b in ((0, 1), (0, 2), (1, 2), (1, 3), (2, 3)):
        expected[a, b] = expected[b, a] = True
    np.testing.assert_array_equal(graph.adjacency, expected)
    np.testing.assert_array_equal(graph.mean_rgb[1], [255, 0, 0])
    np.testing.assert_array_equal(graph.mean_rgb[3], [0, 0, 100])
    assert graph.mean_lab[0, 0] == pytest.approx(0, abs=1e-3) and graph.mean_lab[
        1, 0
    ] == pytest.approx(53.24, abs=0.05)
    np.testing.assert_allclose(graph.centroids[0], [0.5 / 3, 0.5 / 5])
    assert graph.sides["top"].tolist() == [True, True, False, False]
    assert graph.sides["left"].tolist() == [True, False, True, False]
    assert graph.boundary.all()
    np.testing.assert_array_equal(graph.paint(np.array([1, 2, 3, 4]))[2], [3, 3, 3, 4, 4, 4])
    np.testing.assert_allclose(graph.region_fraction(labels == 1), [0, 1, 0, 0])


def test_two_ring_reaches_neighbours_of_neighbours():
    labels = np.repeat(np.arange(5)[None, :], 3, axis=0)  # a chain 0-1-2-3-4
    graph = region_graph(np.zeros((3, 5, 3), np.uint8), labels)
    ring = graph.two_ring()
    assert ring[0].tolist() == [False, True, True, False, False]
    assert ring[2].tolist() == [True, True, False, True, True]


def test_relabel_and_contiguity_check():
    np.testing.assert_array_equal(relabel(np.array([[5, 5], [9, 2]])), [[1, 1], [2, 0]])
    with pytest.raises(ValueError, match="contiguous"):
        region_graph(np.zeros((1, 2, 3), np.uint8), np.array([[0, 2]]))


@pytest.mark.data
def test_slic_on_a_real_image(real_data):
    image = read_image(real_data / "ECSSD" / "images" / "0001.jpg")
    labels = slic_superpixels(image)
    assert labels.shape == image.shape[:2] and labels.min() == 0
    assert 140 <= labels.max() + 1 <= 260  # about the 200 asked for
    assert np.array_equal(labels, slic_superpixels(image))  # deterministic
