"""Labels that go missing (issue 32, item 2): an image without a ``tags.csv`` row is not
"no class present", a row without an image is named, and one class written in two cases
stays one class. Written against the CLI and ``weaksal.check``."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

import weaksal
from weaksal.cli import app

runner = CliRunner()


def _tagged_set(root, rows: str, count: int = 6):
    """``count`` images with masks, and the given ``tags.csv`` text."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(
            root / "images" / f"im{i}.jpg"
        )
        mask = np.zeros((48, 48), np.uint8)
        mask[12:36, 12:36] = 255
        Image.fromarray(mask).save(root / "masks" / f"im{i}.png")
    (root / "tags.csv").write_text(rows)
    return root


ROWS = "image,tag\nim0,cat\nim1,dog\nim2,cat\nim3,dog\nim4,\nghost,cat\n"  # im4 empty, im5 absent


def test_data_check_names_untagged_images_and_rows_without_an_image(tmp_path):
    root = _tagged_set(tmp_path / "set", ROWS)
    result = runner.invoke(app, ["data", "check", str(root)])
    assert result.exit_code == 1, result.output  # not "no problems found"
    text = " ".join(result.output.split())
    assert "untagged" in text and "im4.jpg" in text and "im5.jpg" in text
    assert "ghost" in text and "no such image" in text
    assert weaksal.check(str(root)).problems == 3  # im4, im5, the ghost row


def test_tags_differing_only_in_case_are_one_class_with_a_warning(tmp_path):
    rows = "image,tag\nim0,ARTICHOKE\nim1,artichoke\nim2,Artichoke\nim3,dog\nim4,dog\nim5,dog\n"
    root = _tagged_set(tmp_path / "set", rows)
    report = weaksal.check(str(root))
    assert report.counts["distinct tags"] == 2  # artichoke and dog, not four classes
    assert any("differ only in case" in warning for warning in report.warnings)
    assert report.problems == 0


def test_training_refuses_untagged_images_by_name_before_any_stage(tmp_path):
    root = _tagged_set(tmp_path / "set", ROWS)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train", "--config", "smoke/wss", "--out", str(out), f"data.train={root}",
            "data.train_split=null", "data.val_split=null", "model.pretrained=none",
            "model.input_size=64", "stage1.steps=1", "stage1.batch_size=2", "stage2.steps=1",
            "stage2.rounds=1", "stage2.batch_size=2",
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "no image-level tags" in text and "im4.jpg" in text and "im5.jpg" in text
    assert "data.untagged=skip" in text
    assert not (out / "stage1" / "checkpoints").exists()  # refused before training began
