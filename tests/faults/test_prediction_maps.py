"""Faults: predicted maps are read as written, never with the ground truth's 0/1 rule (issue 15, defect 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import disk_mask, random_rgb, save_image
from tests.faults.helpers import RecordingPromoter
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.metrics.runner import evaluate_saliency


def _dataset(root: Path, count: int = 3) -> Path:
    for i in range(count):
        save_image(root / "images" / f"im{i}.jpg", random_rgb(seed=i))
        save_image(root / "masks" / f"im{i}.png", disk_mask())
    return root


def _maps(folder: Path, value, dtype=np.uint8, count: int = 3, mode=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        array = np.full((24, 32), value, dtype)
        Image.fromarray(array, mode=mode).save(
            folder / f"im{i}.png" if mode != "F" else folder / f"im{i}.tif"
        )
    return folder


def _mae(pred: Path, gt: Path) -> float:
    run = evaluate_saliency(
        "m", pred, gt, SaliencyEvaluator(), interpolation="bilinear", strict=True
    )
    return run.results["mae"]


def _foreground(gt: Path) -> float:
    return float(np.mean(disk_mask() > 128))


@pytest.mark.parametrize("value", [1, 2])
def test_a_faint_constant_map_scores_as_faint(tmp_path, value):
    gt = _dataset(tmp_path / "gt")
    pred = _maps(tmp_path / f"c{value}", value)
    fg = _foreground(gt)
    expected = fg * (1 - value / 255) + (1 - fg) * value / 255
    assert _mae(pred, gt) == pytest.approx(expected, abs=1e-6)


def test_a_sixteen_bit_map_uses_its_full_range(tmp_path):
    gt = _dataset(tmp_path / "gt")
    pred = _maps(tmp_path / "p16", 257 * 100, np.uint16)
    fg = _foreground(gt)
    assert _mae(pred, gt) == pytest.approx(fg * (155 / 255) + (1 - fg) * 100 / 255, abs=1e-6)


def test_a_float_map_is_a_probability_clipped_to_one(tmp_path):
    from weaksal.data.imageio import read_prediction

    path = tmp_path / "f.tif"
    Image.fromarray(np.array([[-0.5, 0.5], [1.0, 3.0]], np.float32), mode="F").save(path)
    assert read_prediction(path).tolist() == [[0, 128], [255, 255]]


def test_ground_truth_keeps_the_zero_one_rule(tmp_path):
    from weaksal.data.imageio import read_mask

    path = save_image(tmp_path / "m.png", (disk_mask() > 0).astype(np.uint8))
    assert set(np.unique(read_mask(path)).tolist()) == {0, 255}


def test_promote_reads_a_faint_prior_as_faint(tmp_path):
    from weaksal.api.promote import promote_folder

    save_image(tmp_path / "images" / "a.jpg", random_rgb())
    save_image(tmp_path / "priors" / "a.png", np.ones((24, 32), np.uint8))
    recorder = RecordingPromoter()
    promote_folder(recorder, tmp_path / "images", tmp_path / "priors", tmp_path / "out")
    assert recorder.priors[0].max() == 1
