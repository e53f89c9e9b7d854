"""Image-level tags (WSS, SSNet, MWS): ``tags.csv`` beside the data, or synset file names.

ImageNet-style stems (``n02165456_10306``) carry their class, so a folder of
such images is tagged without a CSV; a ``tags.csv`` wins where there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weaksal.data.annotations import read_tags_csv, tags_from_synset_names
from weaksal.data.kinds import label_kind

if TYPE_CHECKING:
    from weaksal.data.layouts import DatasetIndex

TAGS_FILE = "tags.csv"


def _counts(index: DatasetIndex) -> dict[str, int]:
    return {
        "tagged images": sum(1 for s in index if s.label("tags")),
        "distinct tags": len({tag for s in index for tag in s.label("tags")}),
    }


@label_kind(
    "tags",
    empty=(),
    folders="tags.csv beside the data: image,tag[,tag...] (or synset file names n01234567_*)",
    about="image-level tags, attached to any layout",
    counts=_counts,
)
def read_tags(index: DatasetIndex) -> dict[str, tuple[str, ...]]:
    """The root's ``tags.csv`` when it has one, else the WordNet id of each synset stem."""
    path = index.root / TAGS_FILE
    return read_tags_csv(path) if path.is_file() else tags_from_synset_names(index.stems())
