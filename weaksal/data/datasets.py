"""Torch datasets over indexed samples: images (and masks) resized to the network's square input.

Items are ``uint8`` tensors, so worker processes ship a quarter of the bytes of
float tensors; the training loop converts and augments whole batches (flips
drawn from the step number, so that a resumed run sees the same batches).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from weaksal.data.imageio import binarize, read_image, read_mask
from weaksal.data.layouts import Sample


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


def image_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """``uint8 (3, size, size)`` from an RGB ``uint8 (H, W, 3)`` array."""
    return torch.from_numpy(np.ascontiguousarray(resize_square(image, size).transpose(2, 0, 1)))


class SaliencyDataset(Dataset):
    """``{"image": uint8 (3,S,S), "mask": uint8 (1,S,S), "index": int}`` per sample.

    The mask is binarised at the project's threshold before resizing, so soft
    edges of the resized mask come from resampling, not from annotation noise.
    ``with_masks=False`` serves images only (weak supervision never loads masks).
    """

    def __init__(self, samples: Sequence[Sample], size: int = 256, with_masks: bool = True) -> None:
        self.samples = list(samples)
        self.size = size
        self.with_masks = with_masks
        if with_masks:
            missing = [s.image for s in self.samples if s.mask is None]
            if missing:
                from weaksal.errors import UnpairedFileError

                raise UnpairedFileError(
                    missing[0],
                    f"has no mask ({len(missing)} images lack one)",
                    "pair every image with a mask of the same stem",
                )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        sample = self.samples[index]
        item: dict[str, torch.Tensor | int] = {
            "image": image_tensor(read_image(sample.image), self.size),
            "index": index,
        }
        if self.with_masks:
            mask = binarize(read_mask(sample.mask)).astype(np.uint8) * 255
            item["mask"] = torch.from_numpy(resize_square(mask, self.size))[None]
        return item
