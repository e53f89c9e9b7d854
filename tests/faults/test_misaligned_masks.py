"""Faults: a mask whose size differs from its image is refused before training (issue 15, defect 1)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import disk_mask, random_rgb, save_image
from weaksal.data.datasets import SaliencyDataset
from weaksal.data.layouts import index_saliency
from weaksal.plumbing.errors import SizeMismatchError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKSAL_CACHE", str(tmp_path / "cache"))


def _dataset(root, bad: dict[str, np.ndarray]):
    for i in range(4):
        stem = f"im{i}"
        save_image(root / "images" / f"{stem}.jpg", random_rgb(seed=i))
        save_image(root / "masks" / f"{stem}.png", bad.get(stem, disk_mask()))
    return list(index_saliency(root))


@pytest.mark.parametrize(
    "mask, words",
    [
        (disk_mask((32, 24)), "looks rotated by 90 degrees"),
        (disk_mask((12, 16)), "mask is 16x12 but its image im2.jpg is 32x24"),
    ],
    ids=["rotated", "half-size"],
)
def test_training_data_refuses_a_misaligned_mask_by_name(tmp_path, mask, words):
    samples = _dataset(tmp_path, {"im2": mask})
    with pytest.raises(SizeMismatchError, match=words) as error:
        SaliencyDataset(samples, 32)
    assert error.value.path.name == "im2.png"
    assert "data.on_mismatch=skip" in error.value.fix


def test_skip_leaves_the_pair_out_and_reports_it(tmp_path):
    samples = _dataset(tmp_path, {"im1": disk_mask((12, 16))})
    with pytest.warns(UserWarning, match="left out 1 samples"):
        dataset = SaliencyDataset(samples, 32, on_mismatch="skip")
    assert [s.stem for s in dataset.samples] == ["im0", "im2", "im3"]
    assert [p.name for p, _ in dataset.left_out] == ["im1.png"]


def test_a_mask_changed_after_the_check_is_refused_when_read(tmp_path):
    samples = _dataset(tmp_path, {})
    dataset = SaliencyDataset(samples, 32)
    save_image(samples[3].mask, disk_mask((12, 16)))
    assert dataset[0]["mask"].shape == (1, 32, 32)
    with pytest.raises(SizeMismatchError, match="im3.png"):
        dataset[3]


def test_sizes_are_cached_and_a_changed_file_is_read_again(tmp_path, monkeypatch):
    from weaksal.data import pairs

    samples = _dataset(tmp_path, {})
    calls = []
    real = pairs.image_size
    monkeypatch.setattr(pairs, "image_size", lambda p: calls.append(p) or real(p))
    SaliencyDataset(samples, 32)
    assert len(calls) == 8
    calls.clear()
    SaliencyDataset(samples, 32)
    assert calls == []
    save_image(samples[0].mask, disk_mask((32, 24)))
    with pytest.raises(SizeMismatchError):
        SaliencyDataset(samples, 32)
    assert [p.name for p in calls] == ["im0.png"]


def test_the_reference_config_refuses_an_unknown_mismatch_policy(tmp_path):
    from weaksal.engine.schema import SupervisedData, resolve_config
    from weaksal.plumbing.errors import ConfigError

    with pytest.raises(ConfigError, match="on_mismatch"):
        resolve_config({"data": {"on_mismatch": "ignore"}}, {"data": SupervisedData})


def test_refine_refuses_a_rotated_map_and_goes_on(tmp_path):
    from typer.testing import CliRunner

    from weaksal.cli import app

    for i in range(2):
        save_image(tmp_path / "images" / f"im{i}.png", random_rgb((24, 32), seed=i))
    save_image(tmp_path / "maps" / "im0.png", disk_mask((32, 24)))  # rotated
    save_image(tmp_path / "maps" / "im1.png", disk_mask((12, 16)))  # half size: a scaled copy
    result = CliRunner().invoke(
        app,
        ["refine", "threshold", "--images", str(tmp_path / "images"), "--maps",
         str(tmp_path / "maps"), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "im0.png: map is 24x32 but its image is 32x24 (looks rotated" in " ".join(
        result.output.split()
    )
    assert (tmp_path / "out" / "im1.png").is_file() and not (tmp_path / "out" / "im0.png").exists()


def test_promote_refuses_a_prior_of_another_aspect_by_name(tmp_path):
    from tests.faults.helpers import RecordingPromoter
    from weaksal.api.promote import promote_folder

    save_image(tmp_path / "images" / "a.jpg", random_rgb((24, 32)))
    save_image(tmp_path / "priors" / "a.png", disk_mask((24, 24)))
    report = promote_folder(
        RecordingPromoter(), tmp_path / "images", tmp_path / "priors", tmp_path / "o"
    )
    assert report.failed and "prior is 24x24 but its image is 32x24" in report.failed[0][1]
