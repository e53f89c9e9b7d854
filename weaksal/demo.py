"""``make demo``: saliency maps for a few real images, a contact sheet, and their scores.

Runs the best pipeline available in this release (the frequency-tuned
detector until trained models ship) on the first images of ECSSD from the
shared data folder, or, without it, on one generated picture.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from weaksal.classic.ft import frequency_tuned
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.data.atomic import write_png
from weaksal.metrics import SaliencyEvaluator
from weaksal.paths import data_root

Detector = Callable[[np.ndarray], np.ndarray]


def generated_example(height: int = 240, width: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """A red ellipse on a textured green-grey background, and its mask."""
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 6)
    background = np.stack([110 + 30 * noise, 130 + 40 * noise, 100 + 20 * noise], axis=2)
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2 + 20, height // 2), (70, 50), 15, 0, 360, 255, -1)
    image = np.where(mask[..., None] > 0, np.array([200, 40, 40], np.float32), background)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def _tile(image: np.ndarray, size: int = 160) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    scale = size / max(image.shape[:2])
    resized = cv2.resize(
        image,
        (round(image.shape[1] * scale), round(image.shape[0] * scale)),
        interpolation=cv2.INTER_AREA,
    )
    tile = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    tile[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return tile


def run_demo(out: Path, count: int = 8, detector: Detector = frequency_tuned) -> dict:
    """Write maps and ``overview.png`` under ``out``; return the evaluation results."""
    root = data_root() / "ECSSD"
    if root.is_dir():
        examples = [
            (s.stem, read_image(s.image), read_mask(s.mask))
            for s in list(index_saliency(root))[:count]
        ]
    else:
        image, mask = generated_example()
        examples = [("generated", image, mask)]
    evaluator = SaliencyEvaluator()
    rows = []
    for stem, image, mask in examples:
        saliency = detector(image)
        write_png(out / "maps" / f"{stem}.png", saliency)
        evaluator.step(saliency, mask, stem)
        rows.append(np.hstack([_tile(image), _tile(saliency), _tile(mask)]))
    write_png(out / "overview.png", np.vstack(rows))
    results = evaluator.results()
    results["source"] = str(root) if root.is_dir() else "generated example (no shared data found)"
    return results
