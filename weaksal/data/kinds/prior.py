"""Initial pseudo-labels shipped with a training set (CapS's ``fake_mask``): paired by stem.

JSM starts its label store from them (``initial.source: prior``); the CapS
layout needs one per image, so a missing one is an unpaired file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from weaksal.data.kinds import label_kind, paired_files

if TYPE_CHECKING:
    from weaksal.data.layouts import DatasetIndex

PRIOR_DIRS = ("fake_mask",)


@label_kind(
    "prior",
    empty=None,
    dirs=PRIOR_DIRS,
    folders="|".join(PRIOR_DIRS),
    about="initial pseudo-labels paired by stem (CapS layout)",
    counts=lambda index: {"initial labels (fake_mask)": sum(1 for s in index if s.label("prior"))},
)
def read_priors(index: DatasetIndex) -> dict[str, Path]:
    return paired_files(index, "prior")
