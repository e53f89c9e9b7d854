"""Torch datasets over indexed samples: images (and masks) resized to the network's square input.

Items are ``uint8`` tensors, so worker processes ship a quarter of the bytes of
float tensors; the training loop converts and augments whole batches (flips
drawn from the step number, so that a resumed run sees the same batches).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from weaksal.data.imageio import binarize, read_depth, read_image, read_mask
from weaksal.data.layouts import Sample
from weaksal.data.pairs import aligned_samples, check_map_shape, size_problem
from weaksal.data.voc import read_label_map
from weaksal.plumbing.errors import SizeMismatchError, UnpairedFileError


def resize_square(array: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size x size``: area averaging when shrinking, bilinear when enlarging.

    Training and inference both go through this function, so a model sees the
    same kind of pixels at test time as during training.
    """
    height, width = array.shape[:2]
    shrinking = height * width > size * size
    return cv2.resize(
        array, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )


def require_paired(samples: Sequence[Sample], kind: str, name: str, fix: str) -> None:
    """Refuse, by the first image's name, samples that lack their ``kind`` file."""
    missing = [s.image for s in samples if s.file(kind) is None]
    if missing:
        raise UnpairedFileError(missing[0], f"has no {name} ({len(missing)} images lack one)", fix)


def image_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """``uint8 (3, size, size)`` from an RGB ``uint8 (H, W, 3)`` array."""
    return torch.from_numpy(np.ascontiguousarray(resize_square(image, size).transpose(2, 0, 1)))


class SaliencyDataset(Dataset):
    """``{"image": uint8 (3,S,S), "mask": uint8 (1,S,S), "index": int}`` per sample.

    The mask is binarised at the project's threshold before resizing, so soft
    edges of the resized mask come from resampling, not from annotation noise.
    ``with_masks=False`` serves images only (weak supervision never loads masks).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        size: int = 256,
        with_masks: bool = True,
        on_mismatch: str = "error",
    ) -> None:
        self.samples = list(samples)
        self.size = size
        self.with_masks = with_masks
        self.left_out: list = []  # (mask, problem) of pairs skipped under on_mismatch="skip"
        if with_masks:
            require_paired(
                self.samples, "mask", "mask", "pair every image with a mask of the same stem"
            )
            self.samples, mismatches = aligned_samples(self.samples, ("mask",), on_mismatch)
            self.left_out = [(m.path, m.problem) for m in mismatches]
            if mismatches:
                shown = "; ".join(f"{path}: {problem}" for path, problem in self.left_out[:5])
                warnings.warn(
                    f"left out {len(mismatches)} samples whose mask size differs from the"
                    f" image's (data.on_mismatch=skip): {shown}",
                    stacklevel=2,
                )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        sample = self.samples[index]
        image = read_image(sample.image)
        item: dict[str, torch.Tensor | int] = {
            "image": image_tensor(image, self.size),
            "index": index,
        }
        if self.with_masks:
            mask = read_mask(sample.mask)
            if mask.shape != image.shape[:2]:  # the file changed after the check
                raise SizeMismatchError(
                    sample.mask,
                    size_problem("mask", mask.shape, image.shape),
                    "fix or remove the file (`weaksal data check` lists every such pair)",
                )
            mask = binarize(mask).astype(np.uint8) * 255
            item["mask"] = torch.from_numpy(resize_square(mask, self.size))[None]
        return item


def multi_hot(samples: Sequence[Sample], classes: Sequence[str]) -> torch.Tensor:
    """``(len(samples), len(classes))`` image-level targets: 1 where a sample carries the tag."""
    position = {name: i for i, name in enumerate(classes)}
    targets = torch.zeros(len(samples), len(classes))
    for row, sample in enumerate(samples):
        for tag in sample.label("tags"):
            if tag in position:
                targets[row, position[tag]] = 1.0
    return targets


class LabelMapDataset(Dataset):
    """``{"image", "labels": uint8 (S,S) class indices, "tags", "index"}`` for segmentation training.

    Label maps (ground truth or pseudo-labels, 255 = ignore) are resized with
    nearest neighbours, never blended; ``tags`` is the multi-hot vector of
    each sample's ``tags`` over ``classes`` (the foreground names, without
    the background).
    """

    def __init__(self, samples: Sequence[Sample], classes: Sequence[str], size: int = 256) -> None:
        self.samples = list(samples)
        self.size = size
        require_paired(
            self.samples, "mask", "label map", "pair every image with a label map of the same stem"
        )
        self.targets = multi_hot(self.samples, classes)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        sample = self.samples[index]
        labels = read_label_map(sample.mask)
        labels = cv2.resize(labels, (self.size, self.size), interpolation=cv2.INTER_NEAREST)
        return {
            "image": image_tensor(read_image(sample.image), self.size),
            "labels": torch.from_numpy(np.ascontiguousarray(labels)),
            "tags": self.targets[index],
            "index": index,
        }


class RGBDDataset(Dataset):
    """``{"image": uint8 (3,S,S), "depth": float16 (1,S,S) in [0, 1], "index": int}`` per sample.

    Depth maps of 8 or 16 bits are read at their full precision; a depth map
    smaller than its image passes when it has the image's aspect ratio (it is
    resized like the image), and one of another shape is refused by name.
    Labels are not read here: methods that update their pseudo-labels while
    training (JSM) keep the current ones in memory and index them by ``index``.
    """

    def __init__(self, samples: Sequence[Sample], size: int = 256) -> None:
        self.samples = list(samples)
        self.size = size
        require_paired(
            self.samples,
            "depth",
            "depth map",
            "pair every image with a depth map of the same stem (depth/ or test_depth/)",
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        sample = self.samples[index]
        image = read_image(sample.image)
        depth_file = sample.label("depth")
        depth = read_depth(depth_file)
        check_map_shape(depth_file, depth.shape, image.shape, "depth map")
        return {
            "image": image_tensor(image, self.size),
            "depth": torch.from_numpy(resize_square(depth, self.size)).to(torch.float16)[None],
            "index": index,
        }
