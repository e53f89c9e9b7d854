"""Small inputs the fault tests share: a tiny model file and a few photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from weaksal.models import create_model, save_model

TINY_SPEC = {
    "architecture": "snet",
    "backbone": "efficientnet_lite0",
    "decoder": "fpn",
    "decoder_width": 8,
    "input_size": 64,
    "freeze_bn": False,
}


def tiny_model(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    save_model(path, create_model(TINY_SPEC, pretrained="none"), TINY_SPEC)
    return path


def photos(folder: Path, count: int = 3, suffix: str = ".png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(
            folder / f"im{i}{suffix}"
        )
    return folder


class RecordingPromoter:
    """Stands in for an LPS promoter: keeps the priors it is given, promotes to all-zero maps."""

    def __init__(self) -> None:
        self.priors: list[np.ndarray] = []

    def identity(self) -> dict:
        return {"promoter": "recording"}

    def maps(self, images, priors) -> list[np.ndarray]:
        self.priors.extend(priors)
        return [np.zeros(p.shape, np.float32) for p in priors]
