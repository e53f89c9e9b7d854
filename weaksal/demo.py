"""``make demo``: MR and the shipped models on real photos, side by side, with LPS promotion.

The photos ship with scikit-image, so the demo needs no download and no
dataset. Each detector's map is shown as it is and promoted by the shipped
LPS model, and the last column overlays the first model's map on the photo.
When the shared data is present it also scores every detector on the first
ECSSD images, so the figure comes with numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from weaksal.data import index_saliency, read_image, read_mask
from weaksal.data.render import header, tile, to_grey
from weaksal.metrics import SaliencyEvaluator
from weaksal.plumbing.atomic import write_png
from weaksal.plumbing.paths import data_root

#: the shipped models that beat MR on the first 20 ECSSD images (BENCHMARKS.md, issue 18)
DEMO_MODELS = ("wss", "jsm", "mws")

#: scikit-image's bundled colour photos (read from the installed package, no download)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")


def bundled_photos() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    photos = []
    for name in PHOTOS:
        image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
        photos.append((name, np.ascontiguousarray(image[..., :3])))
    return photos


def run_demo(
    out: Path,
    models: Sequence[str] = DEMO_MODELS,
    count: int = 20,
    promote: str | None = "lps",
    progress: Callable | None = None,
) -> dict:
    """Write ``maps/<detector>/<photo>.png`` and ``figure.png`` under ``out``.

    Detectors: MR, each of ``models``, and, with ``promote``, each of them
    promoted by that LPS model; the figure's last column overlays the first
    model's (promoted) map on the photo. Returns ``{"photos": [...], "scores":
    {detector: results}}``; ``scores`` is empty without the shared data.
    ``progress(iterable, total, label)`` wraps the work (a progress bar).
    """
    from weaksal.api.detectors import load, open_promotion
    from weaksal.data.render import to_overlay

    step = progress or (lambda iterable, total, label: iterable)
    bases = {"MR": load("mr"), **{Path(m).stem.upper(): load(m) for m in models}}
    promotion = open_promotion(promote) if promote else None
    labels = [label for base in bases for label in ([base, f"{base}+LPS"] if promotion else [base])]
    first = list(bases)[1] if len(bases) > 1 else "MR"
    overlay_of = f"{first}+LPS" if promotion else first

    def detect_all(image: np.ndarray) -> dict[str, np.ndarray]:
        maps = {}
        for label, detector in bases.items():
            maps[label] = detector(image)
            if promotion:
                maps[f"{label}+LPS"] = promotion(image, maps[label])
        return maps

    rows = [header(["image", *labels, f"overlay {overlay_of}"])]
    photos = bundled_photos()
    for name, image in step(photos, len(photos), "demo photos"):
        maps = detect_all(image)
        tiles = [tile(image)]
        for label in labels:
            grey = to_grey(maps[label])
            write_png(out / "maps" / label.lower().replace("+", "_") / f"{name}.png", grey)
            tiles.append(tile(grey))
        tiles.append(tile(to_overlay(image, maps[overlay_of])))
        rows.append(np.hstack(tiles))
    write_png(out / "figure.png", np.vstack(rows))
    scores = {}
    root = data_root() / "ECSSD"
    if root.is_dir():
        samples = list(index_saliency(root))[:count]
        evaluators = {label: SaliencyEvaluator() for label in labels}
        for sample in step(samples, len(samples), f"first {len(samples)} ECSSD images"):
            mask = read_mask(sample.mask)
            for label, saliency in detect_all(read_image(sample.image)).items():
                evaluators[label].step(to_grey(saliency), mask, sample.stem)
        scores = {label: evaluator.results() for label, evaluator in evaluators.items()}
    return {"photos": [name for name, _ in photos], "scores": scores, "source": str(root)}
