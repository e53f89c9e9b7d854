"""SLIC superpixels and the region graph built on them.

Superpixel methods (manifold ranking, RBD, the iterative CRF of WSS) all need
the same per-region statistics: mean colour, centroid, size, which regions
touch, and which lie on the image border. :func:`region_graph` computes them
once with ``np.bincount``, and :class:`RegionGraph` paints region values back
to pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.segmentation import slic


def slic_superpixels(
    image: np.ndarray, n_segments: int = 200, compactness: float = 20.0
) -> np.ndarray:
    """SLIC labels (H, W) int32, contiguous 0..K-1, of an RGB uint8 image.

    Clustering runs in CIE Lab (scikit-image's ``convert2lab``); the defaults
    are those of the MWS/MR code (200 segments, compactness 20).
    """
    labels = slic(
        image, n_segments=n_segments, compactness=compactness, start_label=0, channel_axis=-1
    )
    return relabel(labels)


def relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber labels to 0..K-1 in order of first appearance value (empty labels dropped)."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def lab_image(image: np.ndarray) -> np.ndarray:
    """CIE Lab (L in 0..100, a and b about -127..127) of an RGB uint8 image, float32."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


@dataclass
class RegionGraph:
    """Per-region statistics of one superpixel segmentation."""

    labels: np.ndarray  # (H, W) int32 in 0..n-1
    sizes: np.ndarray  # (n,) pixels per region
    mean_rgb: np.ndarray  # (n, 3) in 0..255
    mean_lab: np.ndarray  # (n, 3) CIE Lab
    centroids: np.ndarray  # (n, 2) mean (row / H, column / W), in [0, 1]
    adjacency: np.ndarray  # (n, n) bool, regions sharing a 4-connected edge
    sides: dict[
        str, np.ndarray
    ]  # "top", "bottom", "left", "right": (n,) bool, region touches that side

    @property
    def n(self) -> int:
        return len(self.sizes)

    @property
    def boundary(self) -> np.ndarray:
        """(n,) bool: regions touching any image border."""
        return self.sides["top"] | self.sides["bottom"] | self.sides["left"] | self.sides["right"]

    def two_ring(self) -> np.ndarray:
        """(n, n) bool: neighbours and neighbours of neighbours (no self loops)."""
        adjacency = self.adjacency.astype(np.int32)
        ring = (adjacency + adjacency @ adjacency) > 0
        np.fill_diagonal(ring, False)
        return ring

    def paint(self, values: np.ndarray) -> np.ndarray:
        """Pixel map (H, W) holding each region's value."""
        return np.asarray(values)[self.labels]

    def region_mean(self, pixel_map: np.ndarray) -> np.ndarray:
        """(n,) mean of a pixel map (H, W) over each region."""
        sums = np.bincount(
            self.labels.ravel(), weights=np.asarray(pixel_map, np.float64).ravel(), minlength=self.n
        )
        return sums / self.sizes

    def region_fraction(self, mask: np.ndarray) -> np.ndarray:
        """(n,) fraction of each region's pixels where ``mask`` is true."""
        return self.region_mean(np.asarray(mask, bool))


def region_graph(image: np.ndarray, labels: np.ndarray) -> RegionGraph:
    """Statistics of the regions ``labels`` (0..n-1) over the RGB uint8 ``image``."""
    labels = np.asarray(labels, np.int32)
    n = int(labels.max()) + 1
    height, width = labels.shape
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n).astype(np.float64)
    if (sizes == 0).any():
        raise ValueError("labels must be contiguous 0..n-1 (use relabel())")

    def means(channels: np.ndarray) -> np.ndarray:
        return (
            np.stack(
                [
                    np.bincount(flat, weights=channels[..., c].ravel(), minlength=n)
                    for c in range(channels.shape[-1])
                ],
                axis=1,
            )
            / sizes[:, None]
        )

    rows, cols = np.mgrid[0:height, 0:width]
    centroids = means(np.stack([rows / max(height - 1, 1), cols / max(width - 1, 1)], axis=-1))
    adjacency = np.zeros((n, n), bool)
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        differ = a != b
        adjacency[a[differ], b[differ]] = True
    adjacency |= adjacency.T

    def touches(edge: np.ndarray) -> np.ndarray:
        out = np.zeros(n, bool)
        out[np.unique(edge)] = True
        return out

    return RegionGraph(
        labels=labels,
        sizes=sizes,
        mean_rgb=means(image.astype(np.float64)),
        mean_lab=means(lab_image(image).astype(np.float64)),
        centroids=centroids,
        adjacency=adjacency,
        sides={
            "top": touches(labels[0]),
            "bottom": touches(labels[-1]),
            "left": touches(labels[:, 0]),
            "right": touches(labels[:, -1]),
        },
    )
