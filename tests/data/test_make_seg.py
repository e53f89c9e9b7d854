"""``weaksal data make-seg``: tag class on the saliency mask, VOC layout, fixed halves."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import disk_mask, make_tagged_saliency
from weaksal.cli import app
from weaksal.data.make_seg import read_classes, split_in_halves
from weaksal.data.voc import index_voc, read_label_map

runner = CliRunner()


def test_labels_are_the_tag_class_on_the_mask_in_voc_layout(tmp_path):
    source, out = make_tagged_saliency(tmp_path / "src"), tmp_path / "seg"
    result = runner.invoke(app, ["data", "make-seg", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 label maps (8 written now), 3 labels" in result.output
    assert read_classes(out) == ["background", "apple", "zebra"]
    labels = read_label_map(out / "SegmentationClass" / "im1.png")  # tagged apple
    mask = disk_mask() > 128
    assert set(np.unique(labels[mask])) == {1} and set(np.unique(labels[~mask])) == {0}
    assert Image.open(out / "SegmentationClass" / "im0.png").mode == "P"
    assert read_label_map(out / "SegmentationClass" / "im0.png").max() == 2  # zebra
    from weaksal.data.discover import open_dataset

    tagged = open_dataset(out, split="train_classification")
    assert [(s.stem, s.label("tags")) for s in tagged][:2] == [
        ("im2", ("zebra",)),
        ("im3", ("apple",)),
    ]
    val = index_voc(out, "val")
    assert val.stems() == ["im6", "im7"]
    halves = {
        name: (out / "ImageSets" / "Segmentation" / f"{name}.txt").read_text().split()
        for name in ("train_saliency", "train_classification", "train")
    }
    assert halves["train_saliency"] == ["im0", "im1", "im4", "im5"]
    assert halves["train_classification"] == ["im2", "im3"]
    assert sorted(halves["train_saliency"] + halves["train_classification"]) == halves["train"]
    again = runner.invoke(app, ["data", "make-seg", str(source), "--out", str(out)])
    assert "(0 written now)" in again.output  # resumed: nothing redone


def test_eval_seg_reads_the_derived_benchmark(tmp_path):
    source, out = make_tagged_saliency(tmp_path / "src"), tmp_path / "seg"
    runner.invoke(app, ["data", "make-seg", str(source), "--out", str(out)])
    pred = tmp_path / "pred"
    pred.mkdir()
    for stem in ("im6", "im7"):  # a perfect prediction for one, all background for the other
        labels = read_label_map(out / "SegmentationClass" / f"{stem}.png")
        Image.fromarray(labels if stem == "im6" else np.zeros_like(labels)).save(
            pred / f"{stem}.png"
        )
    result = runner.invoke(
        app,
        ["eval", "--seg", "--pred", str(pred), "--gt", str(out), "--split", "val",
         "--num-classes", "3", "--out", str(tmp_path / "report")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # background IoU: (all - 2 masks)/(all - 1 mask); apple (im7) 0; zebra (im6) 1
    pixels, fg = 24 * 32, int((disk_mask() > 128).sum())
    expected = ((2 * pixels - 2 * fg) / (2 * pixels - fg) + 0.0 + 1.0) / 3
    assert f"{expected:.4f}" in result.output


def test_the_halves_rule_balances_every_class():
    halves = split_in_halves({"b": ["b3", "b1", "b2"], "a": ["a2", "a1"]})
    assert halves == {"train_saliency": ["a1", "b1", "b3"], "train_classification": ["a2", "b2"]}
