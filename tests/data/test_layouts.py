import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import disk_mask, make_pairs, random_rgb, save_image
from weaksal.data import detect_layout, index_images, index_saliency, open_dataset
from weaksal.data.annotations import (
    CapsEntry,
    read_caps_csv,
    read_imagenet_det_lists,
    read_synset_words,
    read_tags_csv,
    tags_from_synset_names,
    write_tags_csv,
)
from weaksal.data.check import check_dataset
from weaksal.data.voc import index_voc, read_label_map, voc_colormap
from weaksal.plumbing.errors import (
    CorruptFileError,
    DuplicateStemError,
    LayoutError,
    UnpairedFileError,
)

STEMS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("image_dir", "mask_dir", "layout"),
    [
        ("DUTS-TR-Image", "DUTS-TR-Mask", "duts-tr"),
        ("DUTS-TE-Image", "DUTS-TE-Mask", "duts-te"),
        ("images", "ground_truth_mask", "ecssd"),
        ("images", "GT", "sod"),
        ("Imgs", "gt", "generic"),
        ("Image", "Mask", "generic"),
        ("images", "masks", "generic"),
    ],
)
def test_saliency_layouts_pair_by_stem(tmp_path, image_dir, mask_dir, layout):
    make_pairs(tmp_path, image_dir, mask_dir, STEMS)
    index = index_saliency(tmp_path)
    assert index.layout == layout == detect_layout(tmp_path)
    assert index.stems() == STEMS
    for sample in index:
        assert sample.image.parent.name == image_dir and sample.mask.parent.name == mask_dir
        assert sample.mask.stem == sample.image.stem


@pytest.mark.parametrize(
    ("image_dir", "depth_dir"),
    [("RGB", "depth"), ("test_images", "test_depth"), ("images", "Depth")],
)
def test_rgbd_layout_pairs_depth(tmp_path, image_dir, depth_dir):
    make_pairs(tmp_path, image_dir, "GT", STEMS, depth_dir=depth_dir)
    index = open_dataset(tmp_path)
    assert index.layout == "rgbd"
    assert [s.label("depth").name for s in index] == ["a.png", "b.png", "c.png"]


def test_unpaired_files_raise_or_are_reported(tmp_path):
    make_pairs(tmp_path, "images", "GT", STEMS)
    save_image(tmp_path / "images" / "lonely.jpg", random_rgb())
    save_image(tmp_path / "GT" / "stray.png", disk_mask())
    with pytest.raises(UnpairedFileError, match="lonely.jpg") as info:
        index_saliency(tmp_path)
    assert "1 more unpaired" in str(info.value) and "on_bad='skip'" in str(info.value)
    index = index_saliency(tmp_path, on_bad="skip")
    assert index.stems() == STEMS
    assert sorted(s.path.name for s in index.skipped) == ["lonely.jpg", "stray.png"]


def test_rgbd_missing_depth_is_unpaired(tmp_path):
    make_pairs(tmp_path, "RGB", "GT", STEMS, depth_dir="depth")
    (tmp_path / "depth" / "b.png").unlink()
    with pytest.raises(UnpairedFileError, match=r"b\.jpg.*no depth"):
        open_dataset(tmp_path)


def test_duplicate_stems_are_ambiguous(tmp_path):
    make_pairs(tmp_path, "images", "GT", STEMS)
    save_image(tmp_path / "images" / "a.png", random_rgb())
    with pytest.raises(DuplicateStemError, match="a"):
        index_saliency(tmp_path)


def test_unknown_layout_says_how_to_fix(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "labels").mkdir()
    with pytest.raises(LayoutError, match="labels, photos") as info:
        index_saliency(tmp_path)
    assert "weaksal data info" in str(info.value)
    with pytest.raises(LayoutError, match="no image files"):
        open_dataset(tmp_path)


def test_unlabelled_image_folder(tmp_path):
    for i, stem in enumerate(STEMS):
        save_image(tmp_path / f"{stem}.png", random_rgb(seed=i))
    (tmp_path / "notes.txt").write_text("not an image")
    assert open_dataset(tmp_path).layout == "images"
    assert index_images(tmp_path).stems() == STEMS


def test_check_reports_unreadable_and_size_mismatch(tmp_path):
    make_pairs(tmp_path, "images", "masks", STEMS)
    (tmp_path / "images" / "b.jpg").write_bytes(b"\xff\xd8\xff broken")
    save_image(tmp_path / "masks" / "c.png", disk_mask((32, 24)))
    report = check_dataset(tmp_path, workers=1)
    assert not report.ok
    assert [p for p, _ in report.unreadable] == [str(tmp_path / "images" / "b.jpg")]
    assert report.size_mismatches == [
        (
            str(tmp_path / "masks" / "c.png"),
            "mask is 24x32 but its image is 32x24 (looks rotated by 90 degrees)",
        )
    ]


def test_check_counts_mask_kinds(tmp_path):
    make_pairs(tmp_path, "images", "GT", STEMS)
    save_image(tmp_path / "GT" / "a.png", disk_mask(value=1))
    grey = disk_mask().copy()
    grey[0, 0] = 90
    save_image(tmp_path / "GT" / "b.png", grey)
    report = check_dataset(tmp_path, workers=1)
    assert report.ok
    assert report.mask_values == {"0/1": 1, "grey": 1, "0/255": 1}
    assert report.mean_foreground == pytest.approx((disk_mask() > 0).mean())


def test_tags_csv_variants(tmp_path):
    with_header = tmp_path / "t1.csv"
    with_header.write_text(
        'image,tag,lemmas\nx.jpg,dog,"dog, domestic dog"\ny,cat;sofa,"cat"\nx,ball,\n'
    )
    assert read_tags_csv(with_header) == {"x": ("dog", "ball"), "y": ("cat", "sofa")}
    headerless = tmp_path / "t2.csv"
    headerless.write_text("x,dog,person\ny,cat\n")
    assert read_tags_csv(headerless) == {"x": ("dog", "person"), "y": ("cat",)}
    numbered = tmp_path / "t3.csv"
    numbered.write_text("image,tag1,tag2\nx,dog,\n")
    assert read_tags_csv(numbered) == {"x": ("dog",)}
    bad = tmp_path / "t4.csv"
    bad.write_text("image,colour\nx,red\n")
    with pytest.raises(CorruptFileError, match="t4.csv.*no tag column"):
        read_tags_csv(bad)


def test_synset_tags(tmp_path):
    words = tmp_path / "synset_words.txt"
    words.write_text("n02165456 ladybug, ladybeetle\nn01440764 tench, Tinca tinca\n")
    names = read_synset_words(words)
    tags = tags_from_synset_names(["n02165456_10306", "n01440764_1", "plain"], names)
    assert tags == {"n02165456_10306": ("ladybug",), "n01440764_1": ("tench",)}
    assert tags_from_synset_names(["n02165456_7"]) == {"n02165456_7": ("n02165456",)}


def test_caps_csv_and_attachment(tmp_path):
    make_pairs(tmp_path, "images", "GT", STEMS)
    (tmp_path / "captions_train.csv").write_text(
        "Index,Image,Caption,Semantic,Position,SubCategory,Category,Source\n"
        "0,a.jpg,a dog on grass,dog,2,terrier,animal,DUTS\n"
        "1,a.jpg,a small dog,dog,3,terrier,animal,DUTS\n"
        "2,c.jpg,a red car,car,,sedan,vehicle,DUTS\n"
    )
    entries = read_caps_csv(tmp_path / "captions_train.csv")
    assert entries["a"] == (
        CapsEntry("a dog on grass", "dog", 2, "terrier", "animal"),
        CapsEntry("a small dog", "dog", 3, "terrier", "animal"),
    )
    assert entries["c"] == (CapsEntry("a red car", "car", None, "sedan", "vehicle"),)
    index = open_dataset(tmp_path).by_stem()
    assert index["a"].label("captions") == ("a dog on grass", "a small dog")
    assert index["b"].label("captions") == () and index["b"].labels == {}
    assert index["a"].label("categories") == ("animal", "terrier")
    assert index["c"].label("caps") == entries["c"]
    wrong = tmp_path / "x.csv"
    wrong.write_text("Image,Caption\na.jpg,hello\n")
    with pytest.raises(CorruptFileError, match="x.csv.*CapS"):
        read_caps_csv(wrong)


def _coco(tmp_path, split="val2017"):
    images = [{"id": 1, "file_name": "000001.jpg"}, {"id": 2, "file_name": "000002.jpg"}]
    (tmp_path / "annotations").mkdir(parents=True)
    (tmp_path / "annotations" / f"captions_{split}.json").write_text(
        json.dumps(
            {
                "images": images,
                "annotations": [
                    {"id": 9, "image_id": 1, "caption": " A cat. "},
                    {"id": 10, "image_id": 2, "caption": "Dogs"},
                ],
            }
        )
    )
    (tmp_path / "annotations" / f"instances_{split}.json").write_text(
        json.dumps(
            {
                "images": images,
                "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
                "annotations": [
                    {"id": 1, "image_id": 1, "category_id": 1},
                    {"id": 2, "image_id": 2, "category_id": 2},
                    {"id": 3, "image_id": 2, "category_id": 1},
                ],
            }
        )
    )
    for stem in ("000001", "000002"):
        save_image(tmp_path / split / f"{stem}.jpg", random_rgb())


def test_coco_layout(tmp_path):
    _coco(tmp_path)
    index = open_dataset(tmp_path)
    assert index.layout == "coco"
    by_stem = index.by_stem()
    assert by_stem["000001"].label("captions") == ("A cat.",)
    assert by_stem["000002"].label("categories") == ("cat", "dog")
    (tmp_path / "val2017" / "000002.jpg").unlink()
    with pytest.raises(UnpairedFileError, match="000002.jpg"):
        open_dataset(tmp_path)
    (tmp_path / "annotations" / "captions_val2017.json").write_text("{not json")
    with pytest.raises(CorruptFileError, match="captions_val2017.json"):
        open_dataset(tmp_path, on_bad="skip")


def test_voc_layout_and_label_maps(tmp_path):
    labels = np.zeros((24, 32), np.uint8)
    labels[4:10, 4:10] = 15
    labels[0, :] = 255
    palette = voc_colormap().reshape(-1).tolist()
    for stem in ("2007_000032", "2007_000039"):
        save_image(tmp_path / "JPEGImages" / f"{stem}.jpg", random_rgb())
        label = Image.fromarray(labels, mode="P")
        label.putpalette(palette)
        (tmp_path / "SegmentationClass").mkdir(exist_ok=True)
        label.save(tmp_path / "SegmentationClass" / f"{stem}.png")
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000039\n")
    assert detect_layout(tmp_path) == "voc"
    assert index_voc(tmp_path, "val").stems() == ["2007_000039"]
    assert len(open_dataset(tmp_path)) == 2
    assert np.array_equal(
        read_label_map(tmp_path / "SegmentationClass" / "2007_000032.png"), labels
    )
    as_rgb = save_image(tmp_path / "rgb.png", voc_colormap()[labels])
    assert np.array_equal(read_label_map(as_rgb), labels)
    odd = voc_colormap()[labels]
    odd[0, 0] = (1, 2, 3)
    with pytest.raises(CorruptFileError, match="odd.png.*not in the VOC palette"):
        read_label_map(save_image(tmp_path / "odd.png", odd))
    with pytest.raises(LayoutError, match="test.txt"):
        index_voc(tmp_path, "test")


def test_imagenet_det_lists_become_multilabel_tags_csv(tmp_path):
    lists = tmp_path / "det_lists"
    lists.mkdir()
    (lists / "train_pos_1.txt").write_text(
        "ILSVRC2013_DET_train/n02672831/n02672831_100\nILSVRC2014_train_0000/ILSVRC2014_train_00000001\n"
    )
    (lists / "train_pos_2.txt").write_text("ILSVRC2014_train_0000/ILSVRC2014_train_00000001\n\n")
    (lists / "train_neg_1.txt").write_text("ILSVRC2014_train_0000/other\n")  # not a positive list
    tags = read_imagenet_det_lists(lists)
    assert tags == {"n02672831_100": ("det001",), "ILSVRC2014_train_00000001": ("det001", "det002")}
    named = read_imagenet_det_lists(lists, ["accordion", "airplane"])
    assert named["ILSVRC2014_train_00000001"] == ("accordion", "airplane")
    write_tags_csv(named, tmp_path / "tags.csv")
    assert read_tags_csv(tmp_path / "tags.csv") == named  # the dataset loader reads it back
    with pytest.raises(CorruptFileError, match="class 2 has no name"):
        read_imagenet_det_lists(lists, ["accordion"])
    with pytest.raises(CorruptFileError, match="det_lists"):
        read_imagenet_det_lists(tmp_path)
