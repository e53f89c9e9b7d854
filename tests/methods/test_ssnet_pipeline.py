"""The SSNet pipeline end to end on tiny generated trees: stages, label list, caching, what is read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import disk_mask, make_pairs, make_tagged_saliency, random_rgb, save_image
from weaksal.data import datasets
from weaksal.data.make_seg import make_segmentation_dataset
from weaksal.data.voc import VOC_CLASSES, read_label_map, voc_colormap
from weaksal.engine.config import load_config
from weaksal.engine.schema import resolve_config
from weaksal.methods.ssnet import pipeline as ssnet
from weaksal.methods.ssnet.config import SECTIONS as ssnet_sections
from weaksal.models import load_model

pytestmark = pytest.mark.slow

TINY = [
    "model.pretrained=none",
    "model.input_size=64",
    "stage1.steps=3",
    "stage1.batch_size=4",
    "stage2.steps=2",
    "stage2.batch_size=4",
    "labels.workers=1",
    "engine.precision=32-true",
    "engine.workers=0",
    "engine.accelerator=cpu",
    "engine.checkpoint_every=2",
]


def _derived_tree(tmp_path):
    source = make_tagged_saliency(tmp_path / "src", count=24, val_from=20)
    make_segmentation_dataset(source, tmp_path / "seg", workers=1)
    return source, tmp_path / "seg"


def test_pipeline_trains_both_stages_and_reads_no_classification_label_map(tmp_path, monkeypatch):
    source, tree = _derived_tree(tmp_path)
    config = load_config(
        "configs/ssnet/ssnet_fpn_efficientnet_lite0.yaml",
        [*TINY, f"data.segmentation={tree}", f"data.saliency={source}"],
        ssnet_sections,
    )
    read_maps, read_masks = [], []
    real_map, real_mask = datasets.read_label_map, datasets.read_mask
    monkeypatch.setattr(datasets, "read_label_map", lambda p: read_maps.append(p) or real_map(p))
    monkeypatch.setattr(datasets, "read_mask", lambda p: read_masks.append(p) or real_mask(p))
    run = tmp_path / "run"
    summaries = ssnet.train(config, run)
    assert list(summaries) == ["stage1", "labels", "stage2"]
    halves = {
        name: (tree / "ImageSets" / "Segmentation" / f"{name}.txt").read_text().split()
        for name in ("train_saliency", "train_classification")
    }
    # training read label maps only from the pseudo-labels, masks only of the saliency half
    assert read_maps and {p.parent for p in read_maps} == {run / "labels" / "labels"}
    assert read_masks and {p.stem for p in read_masks} <= set(halves["train_saliency"])
    listed = (run / "labels" / "labels" / "train_self.txt").read_text().split()
    assert listed == halves["train_classification"]
    for stem in listed:
        label = read_label_map(run / "labels" / "labels" / f"{stem}.png")
        assert label.shape == (64, 64) and label.max() <= 2
    quality = json.loads((run / "labels" / "quality.json").read_text())
    assert 0.0 <= quality["miou"] <= 1.0
    for stage in ("stage1", "stage2"):
        val = summaries[stage]["val"]
        assert 0.0 <= val["miou"] <= 1.0 and len(val["iou"]) == 3
    model, spec = load_model(run / "final.safetensors")
    assert spec["architecture"] == "ssnet2" and spec["classes"] == ["apple", "zebra"]
    before = (run / "stage2" / "final.safetensors").stat().st_mtime_ns
    assert ssnet.train(config, run) == summaries  # every stage cached
    assert (run / "stage2" / "final.safetensors").stat().st_mtime_ns == before
    # an interrupted label stage makes only the labels it lacks
    (run / "labels" / "labels" / f"{listed[0]}.png").unlink()
    kept = (run / "labels" / "labels" / f"{listed[1]}.png").stat().st_mtime_ns
    resolved = resolve_config(config, ssnet_sections)
    sources = ssnet.open_sources(resolved["data"])
    redone = ssnet.make_stage2_labels(
        resolved, run / "labels", run / "stage1" / "final.safetensors", sources
    )
    assert redone["made_now"] == 1 and redone["labels"] == len(listed)
    assert (run / "labels" / "labels" / f"{listed[0]}.png").is_file()
    assert (run / "labels" / "labels" / f"{listed[1]}.png").stat().st_mtime_ns == kept


def test_saliency_alone_trains_stage_two_only(tmp_path):
    source, tree = _derived_tree(tmp_path)
    config = load_config(
        "configs/ssnet/ssnet_paper_efficientnet_lite0.yaml",
        [*TINY, f"data.segmentation={tree}", f"data.saliency={source}", "stage2.tasks=saliency"],
        ssnet_sections,
    )
    summaries = ssnet.train(config, tmp_path / "run")
    assert list(summaries) == ["stage2"] and "val" not in summaries["stage2"]


def test_a_pascal_voc_tree_with_its_own_folder_names_trains_as_is(tmp_path):
    """VOC2012 + SegmentationClassAug (no tags.csv, no classes.txt), DUTS-TR as saliency data."""
    voc = tmp_path / "VOC2012"
    stems = [f"2007_{i:06d}" for i in range(10)]
    for i, stem in enumerate(stems):
        save_image(voc / "JPEGImages" / f"{stem}.jpg", random_rgb(seed=i))
        labels = np.where(disk_mask() > 0, 12 if i % 2 else 15, 0).astype(np.uint8)  # dog, person
        labels[0, :4] = 255
        image = Image.fromarray(labels, mode="P")
        image.putpalette(voc_colormap().reshape(-1).tolist())
        (voc / "SegmentationClassAug").mkdir(parents=True, exist_ok=True)
        image.save(voc / "SegmentationClassAug" / f"{stem}.png")
    lists = voc / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    (lists / "train_aug.txt").write_text("\n".join(stems[:8]) + "\n")
    (lists / "val.txt").write_text("\n".join(stems[8:]) + "\n")
    duts = make_pairs(tmp_path / "DUTS-TR", "DUTS-TR-Image", "DUTS-TR-Mask", ["a", "b", "c", "d"])
    config = load_config(
        "configs/ssnet/ssnet_paper_efficientnet_lite0.yaml",
        [
            *TINY,
            f"data.segmentation={voc}",
            "data.classification_split=train_aug",
            f"data.saliency={duts}",
            "data.saliency_split=null",
            "data.saliency_list=null",
        ],
        ssnet_sections,
    )
    sources = ssnet.open_sources(resolve_config(config, ssnet_sections)["data"])  # with defaults
    assert sources.names == list(VOC_CLASSES)
    assert {s.label("tags") for s in sources.classification} == {("dog",), ("person",)}
    summaries = ssnet.train(config, tmp_path / "run")
    assert summaries["labels"]["labels"] == 8
    assert len(summaries["stage2"]["val"]["iou"]) == 21
    _, spec = load_model(tmp_path / "run" / "final.safetensors")
    assert spec["classes"] == list(VOC_CLASSES[1:])
