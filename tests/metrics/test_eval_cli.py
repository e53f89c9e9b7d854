"""``weaksal eval`` end to end on the real ECSSD set with two prediction folders."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from weaksal.classic.ft import frequency_tuned
from weaksal.cli import app
from weaksal.data import index_saliency, read_image, read_mask
from weaksal.metrics import SaliencyEvaluator
from weaksal.plumbing.atomic import write_png

runner = CliRunner()


@pytest.fixture(scope="module")
def ecssd_predictions(real_data, tmp_path_factory):
    """FT maps at full size, and blurred ground truth saved at half size (to be resized)."""
    root = tmp_path_factory.mktemp("preds")
    samples = list(index_saliency(real_data / "ECSSD"))
    for sample in samples:
        write_png(root / "ft" / f"{sample.stem}.png", frequency_tuned(read_image(sample.image)))
        mask = read_mask(sample.mask)
        half = cv2.resize(
            cv2.GaussianBlur(mask, (0, 0), 5), (mask.shape[1] // 2, mask.shape[0] // 2)
        )
        write_png(root / "blur" / f"{sample.stem}.png", half)
    return root, samples


@pytest.mark.data
def test_eval_two_methods_writes_tables_and_plots(real_data, ecssd_predictions, tmp_path):
    root, samples = ecssd_predictions
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "eval",
            "--pred",
            f"FT={root / 'ft'},Blur={root / 'blur'}",
            "--gt",
            str(real_data / "ECSSD"),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1000 resized" in result.output  # the half-size maps, reported
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["dataset"], r["method"], r["images"]) for r in rows] == [
        ("ECSSD", "FT", "1000"),
        ("ECSSD", "Blur", "1000"),
    ]
    # the CSV holds the same numbers as the library, computed independently here
    evaluator = SaliencyEvaluator()
    for sample in samples:
        mask = read_mask(sample.mask)
        pred = read_mask(root / "ft" / f"{sample.stem}.png")
        evaluator.step(pred, mask)
    expected = evaluator.results()
    assert float(rows[0]["MAE"]) == pytest.approx(expected["mae"], abs=6e-5)
    assert float(rows[0]["maxF"]) == pytest.approx(expected["fmeasure"]["max"], abs=6e-5)
    assert float(rows[0]["S"]) == pytest.approx(expected["smeasure"], abs=6e-5)
    assert float(rows[1]["maxF"]) > float(rows[0]["maxF"]) + 0.3  # blurred GT beats FT by far
    assert (
        "**" in (out / "results.md").read_text() and r"\textbf" in (out / "results.tex").read_text()
    )
    full = json.loads((out / "results.json").read_text())
    assert len(full[0]["results"]["fmeasure"]["curve"]) == 256 and len(full[1]["resized"]) == 1000
    for name in ("pr_ECSSD.png", "fcurve_ECSSD.png"):
        image = Image.open(out / name)
        assert image.size == (600, 500)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
        for colour in (
            (31, 119, 180),
            (255, 127, 14),
        ):  # one line per method, matplotlib's first colours
            assert (np.abs(pixels.astype(int) - colour).sum(axis=1) < 30).sum() > 200
        assert (out / name.replace(".png", ".pdf")).read_bytes().startswith(b"%PDF")


@pytest.mark.data
def test_eval_reports_missing_and_refuses_size_mismatch_in_strict(
    real_data, ecssd_predictions, tmp_path
):
    root, _ = ecssd_predictions
    partial = tmp_path / "partial"
    for path in sorted((root / "ft").glob("*.png"))[:5]:
        partial.mkdir(exist_ok=True)
        (partial / path.name).write_bytes(path.read_bytes())
    result = runner.invoke(app, ["eval", "--pred", str(partial), "--gt", str(real_data / "ECSSD")])
    assert result.exit_code == 2 and "995 of 1000 images have no prediction" in result.output
    result = runner.invoke(
        app, ["eval", "--pred", str(partial), "--gt", str(real_data / "ECSSD"), "--skip-missing"]
    )
    assert result.exit_code == 0 and "995 missing" in result.output
    result = runner.invoke(
        app, ["eval", "--pred", str(root / "blur"), "--gt", str(real_data / "ECSSD"), "--strict"]
    )
    assert (
        result.exit_code == 2 and "0001.png" in result.output and "ground truth is" in result.output
    )


def test_eval_segmentation_miou(tmp_path):
    labels = np.zeros((20, 30), np.uint8)
    labels[5:15, 5:15] = 12
    labels[0, :] = 255
    prediction = labels.copy()
    prediction[0, :] = 0
    prediction[5:15, 10:15] = 0
    for stem in ("a", "b"):
        (tmp_path / "voc" / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(
            tmp_path / "voc" / "JPEGImages" / f"{stem}.jpg"
        )
        write_png(tmp_path / "voc" / "SegmentationClass" / f"{stem}.png", labels)
        write_png(tmp_path / "pred" / f"{stem}.png", prediction)
    result = runner.invoke(
        app,
        [
            "eval",
            "--seg",
            "--pred",
            str(tmp_path / "pred"),
            "--gt",
            str(tmp_path / "voc"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    # background: 470 labelled pixels (600 - 30 ignored - 100), all found, plus 50 false -> 470/520;
    # class 12: 50 of its 100 pixels found, none false -> 50/100; the ignored row never counts
    assert float(row["mIoU"]) == pytest.approx((470 / 520 + 50 / 100) / 2, abs=1e-4)
