"""RGB-D data: the synthetic set's command, CapS's layout and text, depth of every kind, real depth."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import disk_mask, make_tagged_saliency, random_rgb, save_image
from weaksal.data.annotations import CapsEntry, read_caps_csv
from weaksal.data.datasets import RGBDDataset
from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_depth
from weaksal.data.make_rgbd import (
    FaultRates,
    MakeRGBDSettings,
    make_rgbd_dataset,
    plan_scenes,
    scene_depth,
    source_sets,
)
from weaksal.plumbing.errors import CorruptFileError, SizeMismatchError, UnpairedFileError


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "made_by.json"
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("rgbd")
    source = make_tagged_saliency(root / "src", count=24, val_from=16)
    settings = MakeRGBDSettings(train=10, val=4, test=4, seed=3)
    make_rgbd_dataset(source, root / "out", None, settings, workers=1)
    return root, source, settings


def test_make_rgbd_writes_the_real_layouts_with_captions_that_name_the_object(synthetic):
    root, source, _ = synthetic
    train = open_dataset(root / "out" / "train")
    assert train.layout == "rgbd" and len(train) == 10
    tags = dict(row.split(",") for row in (source / "tags.csv").read_text().split()[1:])
    splits = dict(row.split(",") for row in (source / "split.csv").read_text().split()[1:])
    scenes = list(csv.DictReader(open(root / "out" / "train" / "scenes.csv")))
    assert any(not scene["faults"] for scene in scenes)  # the depth check below runs
    for sample, scene in zip(train, scenes, strict=True):
        (entry,) = sample.label("caps")
        words = entry.caption.split()
        assert words[entry.position - 1] == entry.semantic == tags[scene["object"]]
        assert sample.label("tags") == (tags[scene["object"]],)
        assert splits[scene["object"]] == "train" and splits[scene["background"]] == "train"
        mask = np.asarray(Image.open(sample.mask))
        assert set(np.unique(mask)) == {0, 255} and 0.005 < (mask > 0).mean() < 0.8
        depth = read_depth(sample.label("depth"))
        assert depth.shape == mask.shape
        if not scene["faults"]:  # the object stands nearer than the ground around it
            assert depth[mask > 0].mean() > depth[mask == 0].mean() + 0.1
    val, test = (open_dataset(root / "out" / name) for name in ("val", "test"))
    assert val.image_dir.name == "test_images" and val.label_dirs["depth"].name == "test_depth"
    objects = {
        name: {row["object"] for row in csv.DictReader(open(root / "out" / name / "scenes.csv"))}
        for name in ("val", "test")
    }
    assert not objects["val"] & objects["test"]  # disjoint halves of the val rows
    assert all(splits[stem] == "val" for stem in objects["val"] | objects["test"])


def test_make_rgbd_is_a_function_of_the_seed_alone(synthetic, tmp_path):
    root, source, settings = synthetic
    again = make_rgbd_dataset(source, tmp_path / "again", None, settings, workers=2)
    assert again["written_now"] == 18
    assert _digest(root / "out") == _digest(tmp_path / "again")
    resumed = make_rgbd_dataset(source, tmp_path / "again", None, settings, workers=1)
    assert resumed["written_now"] == 0  # finished scenes are kept
    other = make_rgbd_dataset(source, tmp_path / "other", None, replace(settings, seed=4))
    assert _digest(root / "out") != _digest(tmp_path / "other") and other["written_now"] == 18


def _plan(source, **rates):
    settings = MakeRGBDSettings(
        train=1, val=0, test=0, faults=FaultRates(**{k: 0.0 for k in FaultRates().__dict__} | rates)
    )
    return plan_scenes(source_sets(source, None), settings)["train"][0]


def test_each_depth_fault_does_what_it_says(synthetic):
    _, source, _ = synthetic
    alpha = np.zeros((96, 128), np.float32)
    alpha[30:70, 40:90] = 1.0
    inside = alpha > 0.5
    clean = scene_depth(np.random.default_rng(0), _plan(source), alpha)
    assert clean[inside].mean() > clean[~inside].mean() + 0.15 and clean.min() > 0
    holes = scene_depth(np.random.default_rng(0), _plan(source, holes=1.0), alpha)
    assert (holes == 0).mean() > 0.001
    flat = scene_depth(np.random.default_rng(0), _plan(source, flat_object=1.0), alpha)
    edge = flat[26:74, 36:94].copy()
    edge[4:-4, 4:-4] = np.nan
    assert abs(flat[inside].mean() - np.nanmean(edge)) < 0.05  # no depth cue left
    near = clean[inside].mean()
    distractor = scene_depth(np.random.default_rng(0), _plan(source, distractor=1.0), alpha)
    assert (np.abs(distractor[~inside] - near) < 0.05).sum() > (
        np.abs(clean[~inside] - near) < 0.05
    ).sum() + 50


# -- CapS ---------------------------------------------------------------------------------
def _caps_tree(root):
    for i, stem in enumerate(["1_02-02-40", "2_03-11-05", "3_07-45-12"]):
        save_image(root / "images" / f"{stem}.jpg", random_rgb((40, 60), seed=i))
        save_image(root / "fake_mask" / f"{stem}.png", disk_mask((40, 60)))
        save_image(root / "GT" / f"{stem}.png", disk_mask((40, 60)))
    ramp = np.tile(np.linspace(0, 65535, 60, dtype=np.uint16), (40, 1))
    (root / "depth").mkdir()
    Image.fromarray(ramp).save(root / "depth" / "1_02-02-40.png")
    save_image(root / "depth" / "2_03-11-05.png", np.full((40, 60), 128, np.uint8))
    save_image(root / "depth" / "3_07-45-12.png", np.full((20, 30), 200, np.uint8))  # half size
    (root / "caption").mkdir()
    (root / "caption" / "CapS.csv").write_bytes(
        (
            "Index,Image,Caption,Semantic,Position,SubCategory,Category,Source\n"
            "0,1_02-02-40.jpg,a cat lying on the couch,cat,2,cat,animal,NLPR 数据\n"
            "1,2_03-11-05.jpg,a red car in the street,car,,car,vehicle,NJU2K\n"
        ).encode("gbk")
    )
    return root


def test_caps_layout_reads_priors_depth_and_the_salient_word(tmp_path):
    root = _caps_tree(tmp_path / "caps")
    index = open_dataset(root)
    assert index.layout == "caps" and len(index) == 3
    first = index.by_stem()["1_02-02-40"]
    assert first.label("prior").parent.name == "fake_mask" and first.mask.parent.name == "GT"
    assert first.label("caps") == (
        CapsEntry("a cat lying on the couch", "cat", 2, "cat", "animal"),
    )
    assert first.label("captions") == ("a cat lying on the couch",)
    assert first.label("categories") == ("animal", "cat")
    assert index.by_stem()["2_03-11-05"].label("caps")[0].position is None
    items = RGBDDataset(index.samples, size=32)
    ramp, flat, half = (items[i]["depth"] for i in range(3))
    assert ramp.dtype == torch.float16 and ramp.shape == (1, 32, 32)
    exact = np.tile(np.linspace(0, 65535, 60, dtype=np.uint16), (40, 1)) / 65535
    assert np.array_equal(
        read_depth(first.label("depth")), exact.astype(np.float32)
    )  # all 16 bits kept
    assert float(ramp[0, :, -1].mean()) == pytest.approx(1.0, abs=0.01)
    assert float(ramp[0, :, 0].mean()) == pytest.approx(0.0, abs=0.02)
    assert float(flat.mean()) == pytest.approx(128 / 255, abs=1e-3)
    assert float(half.mean()) == pytest.approx(200 / 255, abs=1e-3)  # a scaled copy is resized


def test_caps_faults_are_named(tmp_path):
    root = _caps_tree(tmp_path / "caps")
    save_image(root / "depth" / "3_07-45-12.png", np.full((60, 40), 200, np.uint8))  # turned
    with pytest.raises(SizeMismatchError, match=r"3_07-45-12\.png.*depth map is 40x60"):
        RGBDDataset(open_dataset(root).samples, size=32)[2]
    (root / "depth" / "2_03-11-05.png").unlink()
    with pytest.raises(UnpairedFileError, match=r"2_03-11-05\.jpg.*no depth"):
        open_dataset(root)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Index,Image,Caption,Semantic,Position,SubCategory,Category,Source\n0,a.jpg,a cat,cat,left,,,\n"
    )
    with pytest.raises(CorruptFileError, match=r"bad\.csv.*row 2: Position is 'left'"):
        read_caps_csv(bad)


def test_rgbd_test_layout_and_a_missing_depth_folder(tmp_path):
    for name in ("test_images", "test_masks", "test_depth"):
        kind = "jpg" if name == "test_images" else "png"
        image = random_rgb() if kind == "jpg" else disk_mask()
        save_image(tmp_path / "NJU2K" / name / f"a.{kind}", image)
    assert open_dataset(tmp_path / "NJU2K").layout == "rgbd"
    save_image(tmp_path / "plain" / "images" / "a.jpg", random_rgb())
    save_image(tmp_path / "plain" / "masks" / "a.png", disk_mask())
    with pytest.raises(UnpairedFileError, match=r"a\.jpg.*no depth map"):
        RGBDDataset(open_dataset(tmp_path / "plain").samples)


def test_a_real_stereo_disparity_runs_through_the_depth_branch(tmp_path):
    """scikit-image's Middlebury motorcycle pair: real disparity (near = large), with holes."""
    from skimage import data

    from weaksal.methods.jsm.losses import ssm_target
    from weaksal.methods.jsm.pipeline import depth_semantic_map
    from weaksal.models import create_model
    from weaksal.models.jsm import gaussian_kernel

    left, _, disparity = data.stereo_motorcycle()
    holes = ~np.isfinite(disparity)
    assert holes.any()
    finite = np.where(holes, 0, disparity)
    scaled = np.rint(finite / finite.max() * 65535).astype(np.uint16)
    save_image(tmp_path / "moto" / "RGB" / "m.jpg", left)
    save_image(tmp_path / "moto" / "GT" / "m.png", np.zeros(left.shape[:2], np.uint8))
    (tmp_path / "moto" / "depth").mkdir()
    Image.fromarray(scaled).save(tmp_path / "moto" / "depth" / "m.png")
    item = RGBDDataset(open_dataset(tmp_path / "moto").samples, size=128)[0]
    depth = item["depth"].float()[None]
    assert float(depth.max()) == pytest.approx(1.0, abs=1e-3) and float(depth.min()) == 0.0
    torch.manual_seed(0)
    spec = {"architecture": "jsm_depth", "backbone": "efficientnet_lite0", "input_size": 128}
    network = create_model(spec, pretrained="none").eval()
    with torch.no_grad():
        out = network(item["image"][None].float() / 255)
    assert out.depth.shape == (1, 1, 128, 128) and torch.isfinite(out.depth).all()
    attention = torch.full((1, 1, 8, 8), -8.0)
    attention[..., 2:6, 2:6] = 8.0  # a salient square in the middle
    target = ssm_target(attention, depth, gaussian_kernel(), 0.05)
    assert torch.equal(
        target[..., :8, :], torch.zeros_like(target[..., :8, :])
    )  # background zeroed
    assert torch.equal(target[..., 60:68, 60:68], depth[..., 60:68, 60:68])  # saliency kept
    semantic = depth_semantic_map(torch.randn(1, 1, 128, 128), out.depth)
    assert float(semantic.min()) == 0.0 and float(semantic.max()) == pytest.approx(1.0)


def test_data_check_reads_a_caps_tree(tmp_path):
    from weaksal.data.check import check_dataset

    root = _caps_tree(tmp_path / "caps")
    report = check_dataset(root, workers=1)
    assert report.layout == "caps" and report.ok  # the half-size depth map is a scaled copy
    assert report.counts["initial labels (fake_mask)"] == 3
    assert report.counts["images with a salient word (CapS)"] == 2
    save_image(root / "fake_mask" / "2_03-11-05.png", disk_mask((60, 40)))  # turned
    report = check_dataset(root, workers=1)
    assert [path.split("/")[-1] for path, _ in report.size_mismatches] == ["2_03-11-05.png"]


def test_make_rgbd_command_and_its_one_line_errors(tmp_path):
    from typer.testing import CliRunner

    from weaksal.cli import app

    runner = CliRunner()
    source = make_tagged_saliency(tmp_path / "src", count=12, val_from=8)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["data", "make-rgbd", str(source), "--out", str(out), "--train", "3", "--val", "2",
              "--test", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "train 3, val 2, test 2 scenes (7 written now)" in result.output
    assert len(list((out / "val" / "test_depth").glob("*.png"))) == 2
    (source / "split.csv").write_text("image,split\nim0,train\n")
    result = runner.invoke(app, ["data", "make-rgbd", str(source), "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "split.csv" in result.output and "Fix:" in result.output
    assert len(result.output.strip().splitlines()) == 1
