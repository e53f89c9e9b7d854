"""Datasets as distributed: layouts, weak labels, robust reading, atomic writing."""

from weaksal.data.discover import LAYOUT_TABLE, detect_layout, open_dataset
from weaksal.data.imageio import binarize, read_depth, read_image, read_mask, read_prediction
from weaksal.data.layouts import DatasetIndex, Sample, index_images, index_saliency

__all__ = [
    "LAYOUT_TABLE",
    "DatasetIndex",
    "Sample",
    "binarize",
    "detect_layout",
    "index_images",
    "index_saliency",
    "open_dataset",
    "read_depth",
    "read_image",
    "read_mask",
    "read_prediction",
]
