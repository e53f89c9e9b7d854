"""Several methods on one dataset: each mask is read and prepared once, the numbers unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import weaksal.metrics.runner as runner
from tests.conftest import disk_mask, make_pairs, random_rgb, save_image
from tests.metrics.maps import varied_maps
from weaksal.metrics import SaliencyEvaluator
from weaksal.metrics.evaluation import evaluate
from weaksal.metrics.saliency import pair_stats, prepare_ground_truth


def edge_masks() -> list[np.ndarray]:
    """Masks with the border cases of the weighted F window: inside, touching, empty, full."""
    inside = disk_mask((40, 50))
    corner = np.zeros((40, 50), np.uint8)
    corner[:6, :9] = 255  # the window crosses the top-left border
    empty = np.zeros((40, 50), np.uint8)
    full = np.full((40, 50), 255, np.uint8)
    return [inside, corner, empty, full]


@pytest.mark.parametrize("case", range(4))
def test_a_prepared_ground_truth_gives_the_same_statistics(case):
    gt = edge_masks()[case]
    ground = prepare_ground_truth(gt)
    for name, pred in varied_maps(random_rgb((40, 50), case), gt, case).items():
        alone, shared = pair_stats(pred, gt), pair_stats(pred, ground)
        for field in ("tp", "fp", "quadrants", "quadrant_weights", "values"):
            np.testing.assert_array_equal(getattr(alone, field), getattr(shared, field), name)
        assert (alone.fg, alone.size, alone.mae) == (shared.fg, shared.size, shared.mae)
        np.testing.assert_array_equal(alone.wfmeasure, shared.wfmeasure)
        np.testing.assert_array_equal(alone.constant_ssim, shared.constant_ssim)
    with pytest.raises(ValueError, match="without structure"):
        pair_stats(gt, prepare_ground_truth(gt, structure=False), structure=True)


def test_several_methods_read_each_mask_once_and_score_as_alone(tmp_path, monkeypatch):
    stems = ["a", "b", "c", "d", "e"]
    root = make_pairs(tmp_path / "set", "images", "GT", stems)
    gt = disk_mask()
    methods = {}
    for m, (name, _) in enumerate(list(varied_maps(random_rgb(), gt, 0).items())[:3]):
        folder = tmp_path / name
        for k, stem in enumerate(stems[: 5 - m]):  # the methods cover different images
            maps = varied_maps(random_rgb(seed=k), gt, k)
            save_image(folder / f"{stem}.png", maps[name])
        methods[name] = folder
    reads = []
    original = runner.read_mask
    monkeypatch.setattr(runner, "read_mask", lambda path: reads.append(path) or original(path))
    together = evaluate(methods, root, skip_missing=True)
    assert len(reads) == 5  # one read per image, not per (method, image)
    for name, folder in methods.items():
        alone = runner.evaluate_saliency(name, folder, root, SaliencyEvaluator(), skip_missing=True)
        shared = next(run for run in together.runs if run.method == name)
        assert shared.names == alone.names and shared.missing == alone.missing
        for key in ("mae", "maxf", "smeasure", "wfmeasure"):
            assert shared.results[key] == alone.results[key], (name, key)
        np.testing.assert_array_equal(
            shared.results["fmeasure"]["curve"], alone.results["fmeasure"]["curve"]
        )
