"""Depth maps of RGB-D saliency sets (NJU2K, NLPR, STERE, SIP) and of CapS: paired by stem.

The RGB-D and CapS layouts need them, so a missing depth map is an unpaired
file; :class:`~weaksal.data.datasets.RGBDDataset` reads them at full precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weaksal.data.kinds import label_kind, paired_files

if TYPE_CHECKING:
    from weaksal.data.layouts import DatasetIndex

#: the folder names of the released sets (their training and test splits)
DEPTH_DIRS = ("depth", "Depth", "test_depth", "train_depth")


@label_kind(
    "depth",
    empty=None,
    dirs=DEPTH_DIRS,
    folders="|".join(DEPTH_DIRS),
    about="depth maps paired by stem (RGB-D layout)",
    counts=lambda index: {"depth": len(paired_files(index, "depth"))},  # files, as folders count
)
def read_depth_maps(index: DatasetIndex) -> dict[str, Path]:
    return paired_files(index, "depth")
