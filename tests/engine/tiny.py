"""A tiny generated saliency dataset and config for fast end-to-end training tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image


def make_dataset(root: Path, count: int = 12, seed: int = 0) -> Path:
    """``root/images/*.jpg`` + ``root/masks/*.png`` (a bright box on noise) + ``split.csv``."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = ["image,split"]
    for index in range(count):
        height, width = rng.integers(40, 90, size=2)
        image = rng.integers(0, 90, size=(height, width, 3), dtype=np.uint8)
        mask = np.zeros((height, width), np.uint8)
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        mask[top : top + height // 2, left : left + width // 2] = 255
        image[mask > 0] = rng.integers(150, 255, size=3, dtype=np.uint8)
        stem = f"img{index:03d}"
        Image.fromarray(image).save(root / "images" / f"{stem}.jpg", quality=95)
        Image.fromarray(mask).save(root / "masks" / f"{stem}.png")
        rows.append(f"{stem},{'val' if index % 4 == 3 else 'train'}")
    (root / "split.csv").write_text("\n".join(rows) + "\n")
    return root


def write_config(path: Path, data_root: Path, **train) -> Path:
    """A reference-model config small enough to train in seconds on CPU."""
    config = {
        "method": "reference",
        "seed": 3,
        "model": {
            "architecture": "snet",
            "backbone": "efficientnet_lite0",
            "pretrained": "none",
            "input_size": 64,
            "freeze_bn": True,
        },
        "data": {
            "train": str(data_root),
            "train_split": "train",
            "val_split": "val",
            "val_limit": 0,
        },
        "train": {
            "steps": 8,
            "batch_size": 2,
            "lr": 1e-3,
            "head_lr_mult": 10,
            "schedule": "poly",
            "weight_decay": 0.0,
            "flip": True,
            "grad_clip": 10.0,
            **train,
        },
        "engine": {
            "accelerator": "cpu",
            "devices": 1,
            "strategy": "auto",
            "precision": "32-true",
            "channels_last": False,
            "workers": 0,
            "checkpoint_every": 2,
            "keep_checkpoints": 2,
            "log_every": 1,
            "val_every": 4,
            "deterministic": False,
        },
        "evaluate": [],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


REPO = Path(__file__).resolve().parents[2]


def train_process(
    config: Path,
    out: Path,
    *overrides: str,
    threads: str = "1",
    launcher: tuple[str, ...] = (),
    method: tuple[str, ...] = ("reference",),
) -> subprocess.Popen:
    """``weaksal train reference`` on a tiny config in its own process (to kill, or to launch DDP).

    ``method=()`` leaves the method's name out (the config names it).
    """
    command = [*launcher] or [sys.executable]
    command += ["-m", "weaksal", "train", *method, "--config", str(config),
                "--out", str(out), "--no-evaluate", *overrides]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": threads}
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for a training process; its output, after checking it succeeded."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output
