"""Shared fixtures: the real data root, and small generated datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from weaksal.plumbing.paths import data_root


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real datasets; tests using it skip, saying why, when absent."""
    root = data_root()
    if not (root / "ECSSD").is_dir():
        pytest.skip(f"real data not found at {root}: set WEAKSAL_DATA to the shared data folder")
    return root


def save_image(path: Path, array: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def random_rgb(shape=(24, 32), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def disk_mask(shape=(24, 32), value=255) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    inside = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < (min(shape) / 3) ** 2
    return (inside * value).astype(np.uint8)


def make_pairs(
    root: Path,
    image_dir: str,
    mask_dir: str,
    stems,
    depth_dir: str | None = None,
    image_ext=".jpg",
    mask_ext=".png",
) -> Path:
    for i, stem in enumerate(stems):
        save_image(root / image_dir / f"{stem}{image_ext}", random_rgb(seed=i))
        save_image(root / mask_dir / f"{stem}{mask_ext}", disk_mask())
        if depth_dir:
            save_image(
                root / depth_dir / f"{stem}.png",
                (np.arange(24 * 32).reshape(24, 32) % 256).astype(np.uint8),
            )
    return root


def make_tagged_saliency(root: Path, count: int = 8, val_from: int = 6) -> Path:
    """A DUTS-TR-50-like set: images, masks, tags.csv (zebra/apple alternating), split.csv."""
    tags = ["zebra", "apple"]
    rows, splits = ["image,tag"], ["image,split"]
    for i in range(count):
        stem = f"im{i:02d}" if count > 10 else f"im{i}"
        save_image(root / "DUTS-TR-Image" / f"{stem}.jpg", random_rgb(seed=i))
        save_image(root / "DUTS-TR-Mask" / f"{stem}.png", disk_mask())
        rows.append(f"{stem},{tags[i % 2]}")
        splits.append(f"{stem},{'val' if i >= val_from else 'train'}")
    (root / "tags.csv").write_text("\n".join(rows) + "\n")
    (root / "split.csv").write_text("\n".join(splits) + "\n")
    return root
