"""``make demo``: MR and the shipped WSS and MWS models on real photos, side by side.

The photos ship with scikit-image, so the demo needs no download and no
dataset. When the shared data is present it also scores both detectors on the
first ECSSD images, so the figure comes with numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from weaksal.classic import get_detector
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.data.atomic import write_png
from weaksal.inference import predict_images
from weaksal.metrics import SaliencyEvaluator
from weaksal.paths import data_root

#: scikit-image's bundled colour photos (read from the installed package, no download)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")
TILE = 200


def bundled_photos() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    photos = []
    for name in PHOTOS:
        image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
        photos.append((name, np.ascontiguousarray(image[..., :3])))
    return photos


def tile(image: np.ndarray, size: int = TILE) -> np.ndarray:
    """``image`` (grey or RGB) fitted into a white ``size`` x ``size`` RGB square."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    scale = size / max(image.shape[:2])
    resized = cv2.resize(
        image,
        (round(image.shape[1] * scale), round(image.shape[0] * scale)),
        interpolation=cv2.INTER_AREA,
    )
    square = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    square[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return square


def header(titles: list[str], size: int = TILE) -> np.ndarray:
    row = np.full((32, size * len(titles), 3), 255, np.uint8)
    for index, title in enumerate(titles):
        cv2.putText(row, title, (index * size + 8, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    return row


def run_demo(out: Path, models: Sequence[str] = ("wss", "mws"), count: int = 20) -> dict:
    """Write ``maps/<detector>/<photo>.png`` and ``figure.png`` under ``out``.

    Returns ``{"photos": [...], "scores": {detector: results}}``; ``scores`` is
    empty without the shared data.
    """
    from weaksal.predict import open_runtime

    def learned(model: str):
        runtime, size = open_runtime(model)

        def detect(image: np.ndarray) -> np.ndarray:
            return np.round(predict_images(runtime, [image], size)[0] * 255).astype(np.uint8)

        return detect

    detectors = {"MR": get_detector("mr"), **{Path(m).stem.upper(): learned(m) for m in models}}
    rows = [header(["image", *detectors])]
    photos = bundled_photos()
    for name, image in photos:
        tiles = [tile(image)]
        for label, detect in detectors.items():
            saliency = detect(image)
            write_png(out / "maps" / label.lower() / f"{name}.png", saliency)
            tiles.append(tile(saliency))
        rows.append(np.hstack(tiles))
    write_png(out / "figure.png", np.vstack(rows))
    scores = {}
    root = data_root() / "ECSSD"
    if root.is_dir():
        samples = list(index_saliency(root))[:count]
        for label, detect in detectors.items():
            evaluator = SaliencyEvaluator()
            for sample in samples:
                evaluator.step(
                    detect(read_image(sample.image)), read_mask(sample.mask), sample.stem
                )
            scores[label] = evaluator.results()
    return {"photos": [name for name, _ in photos], "scores": scores, "source": str(root)}
