"""Weak-label datasets: tagged images, captioned images, unlabelled images.

Items are ``uint8`` image tensors resized to the network's square input (as
:class:`~weaksal.data.datasets.SaliencyDataset`'s) plus the weak label: a
multi-hot tag vector, caption tokens, or the image's SLIC regions. None of
them ever reads a mask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from weaksal.data.datasets import SaliencyDataset, image_tensor, multi_hot
from weaksal.data.imageio import read_image
from weaksal.data.layouts import Sample
from weaksal.data.vocabulary import Vocabulary
from weaksal.plumbing.errors import LayoutError


def tag_classes(samples: Sequence[Sample]) -> list[str]:
    """The sorted tag names of ``samples``; an error when none has a tag."""
    classes = sorted({tag for sample in samples for tag in sample.label("tags")})
    if not classes:
        raise LayoutError(
            samples[0].image.parent if samples else Path("."),
            "no image-level tags found",
            "put a tags.csv (image,tag) beside the data or use ImageNet synset file names",
        )
    return classes


def tagged_samples(samples: Sequence[Sample], untagged: str, key: str) -> list[Sample]:
    """``samples`` when every one has tags; otherwise refused naming the untagged images,
    or, with ``untagged == "skip"``, the tagged ones (each image left out is named).

    An untagged image would train as "no class present" (an all-zero tag vector),
    which is never what a missing ``tags.csv`` row means. ``key`` is the config key
    that switches to skipping, for the message.
    """
    missing = [s for s in samples if not s.label("tags")]
    if not missing:
        return list(samples)
    names = ", ".join(s.image.name for s in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    if untagged != "skip":
        raise LayoutError(
            missing[0].image,
            f"has no image-level tags ({len(missing)} of {len(samples)} images have none:"
            f" {names}{more})",
            f"add their rows to tags.csv, or set {key}=skip to train without them",
        )
    for sample in missing:
        print(f"skipped (untagged): {sample.image}", flush=True)
    return [s for s in samples if s.label("tags")]


class TaggedImages(Dataset):
    """``{"image", "tags", "index"}``: an image and its multi-hot tag vector over ``classes``."""

    def __init__(self, samples: Sequence[Sample], classes: Sequence[str], size: int) -> None:
        self.images = SaliencyDataset(samples, size, with_masks=False)
        self.targets = multi_hot(samples, classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return {**self.images[index], "tags": self.targets[index]}


def caption_pairs(samples: Sequence[Sample]) -> list[tuple[int, str]]:
    """(sample index, caption) pairs: each caption is one training sample, as in MWS's code."""
    pairs = [(i, caption) for i, s in enumerate(samples) for caption in s.label("captions")]
    if samples and not pairs:
        raise LayoutError(
            samples[0].image.parent,
            "no captions found",
            "point data.captions at a COCO tree with annotations/captions_<split>.json",
        )
    return pairs


def build_vocabulary(samples: Sequence[Sample], min_count: int) -> Vocabulary:
    return Vocabulary.build((c for s in samples for c in s.label("captions")), min_count)


class CaptionedImages(Dataset):
    """``{"image", "tokens"}``: one (image, caption) pair, tokens padded with ``<pad>`` = 0."""

    def __init__(
        self, samples: Sequence[Sample], vocabulary: Vocabulary, size: int, max_length: int = 20
    ) -> None:
        self.samples, self.size = list(samples), size
        self.pairs = caption_pairs(self.samples)
        self.length = max_length + 2
        self.tokens = torch.zeros(len(self.pairs), self.length, dtype=torch.long)
        for row, (_, caption) in enumerate(self.pairs):
            encoded = vocabulary.encode(caption, max_length)
            self.tokens[row, : len(encoded)] = torch.tensor(encoded)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[self.pairs[index][0]]
        return {
            "image": image_tensor(read_image(sample.image), self.size),
            "tokens": self.tokens[index],
        }


class UnlabelledImages(Dataset):
    """``{"image", "regions"}``: the resized image and its regions (built in the loader workers).

    ``regions`` maps an RGB ``uint8 (H, W, 3)`` array to integer region labels
    ``(H, W)`` (MWS passes SLIC superpixels, :mod:`weaksal.classic.superpixels`);
    it is given rather than imported so that the data layer needs no detector
    code, and must pickle (a module-level function or a ``functools.partial``)
    to reach the loader's worker processes.
    """

    def __init__(
        self, samples: Sequence[Sample], size: int, regions: Callable[[np.ndarray], np.ndarray]
    ) -> None:
        self.images = SaliencyDataset(samples, size, with_masks=False)
        self.regions = regions

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        image = self.images[index]["image"]
        rgb = np.ascontiguousarray(image.permute(1, 2, 0).numpy())
        regions = self.regions(rgb)
        return {"image": image, "regions": torch.from_numpy(regions.astype(np.int64))}
