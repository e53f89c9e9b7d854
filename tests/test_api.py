"""The Python API (``import weaksal``): one call per task, one return convention."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import weaksal
from tests.conftest import disk_mask, make_pairs, random_rgb, save_image
from weaksal.classic import get_detector
from weaksal.data.imageio import read_image
from weaksal.plumbing.errors import UnpairedFileError, WeaksalError


def photo(shape=(45, 61), seed=3) -> np.ndarray:
    """A bright disk on a noisy background: something salient, odd sizes to catch transposes."""
    image = random_rgb(shape, seed) // 3
    image[disk_mask(shape) > 0] = (230, 200, 40)
    return image


def test_import_is_light_and_lists_its_api():
    for name in ("load", "evaluate", "check", "list_models", "render", "Detector", "Evaluation"):
        assert name in dir(weaksal)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        weaksal.nothing  # noqa: B018


def test_shipped_model_on_path_pil_and_array_gives_float_maps_of_the_image_size(tmp_path):
    image = photo()
    path = save_image(tmp_path / "photo.png", image)
    wss = weaksal.load("wss")
    from_path = wss(path)
    from_str = wss(str(path))
    from_pil = wss(Image.open(path))  # was: 'PngImageFile' object has no attribute 'shape'
    from_array = wss(image)
    assert from_path.dtype == np.float32 and from_path.shape == image.shape[:2]
    assert 0.0 <= from_path.min() and from_path.max() <= 1.0
    np.testing.assert_array_equal(from_path, from_str)
    np.testing.assert_array_equal(from_path, from_pil)
    np.testing.assert_array_equal(from_path, from_array)
    assert from_path[disk_mask(image.shape[:2]) > 0].mean() > from_path.mean()
    several = wss([image, image[:30]])
    assert isinstance(several, list) and [m.shape for m in several] == [(45, 61), (30, 61)]
    np.testing.assert_allclose(several[0], from_array, atol=1e-5)  # batched: float rounding


def test_image_inputs_are_converted_or_refused_clearly():
    image = photo()
    mr = weaksal.load("mr")
    np.testing.assert_array_equal(mr(image.astype(np.float32) / 255.0), mr(image))
    grey = image.mean(axis=2).astype(np.uint8)
    np.testing.assert_array_equal(mr(grey), mr(np.repeat(grey[:, :, None], 3, axis=2)))
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(mr(rgba), mr(image))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        mr(image.astype(np.float32))
    with pytest.raises(TypeError, match="path, a PIL image or a numpy array"):
        mr(3)


def test_classic_detectors_return_the_same_convention_as_networks():
    image = photo()
    mr = weaksal.load("mr")(image)
    assert mr.dtype == np.float32 and mr.shape == image.shape[:2]
    np.testing.assert_allclose(mr, get_detector("mr")(image) / 255.0, atol=1e-7)


def test_promotion_alone_and_chained_agree():
    image = photo()
    lps = weaksal.load("lps")
    prior = weaksal.load("mr")(image)
    promoted = lps(image, prior)
    assert promoted.dtype == np.float32 and promoted.shape == image.shape[:2]
    # a uint8 prior and a float prior of the same grey levels are the same prior
    np.testing.assert_array_equal(promoted, lps(image, np.round(prior * 255).astype(np.uint8)))
    chained = weaksal.load("mr", promote="lps")
    np.testing.assert_array_equal(chained(image), promoted)
    assert chained.name == "mr+lps" and len(chained.left) == 1
    with pytest.raises(ValueError, match="one prior per image"):
        lps([image, image], prior)


def test_unknown_model_lists_only_what_predicts(tmp_path):
    with pytest.raises(WeaksalError) as error:
        weaksal.load("foo")
    message = str(error.value)
    assert "wss" in message and "mr" in message
    assert "lps" not in message  # an LPS model does not predict from an image


def test_evaluate_returns_a_table_with_the_numbers_and_its_convention(tmp_path):
    root = make_pairs(tmp_path / "set", "images", "GT", ["a", "b"])
    maps = tmp_path / "maps"
    save_image(maps / "a.png", disk_mask())  # perfect
    save_image(maps / "b.png", np.zeros((24, 32), np.uint8))  # all background
    evaluation = weaksal.evaluate({"mine": maps}, root)
    results = evaluation["mine", "set"]
    foreground = (disk_mask() > 128).mean()
    assert results["mae"] == pytest.approx(foreground / 2)
    assert results["images"] == 2
    assert "max-F mean" in evaluation.convention and "256 thresholds" in evaluation.convention
    assert str(evaluation).startswith(evaluation.convention)
    written = evaluation.write(tmp_path / "out")
    for path in written:
        if path.suffix in (".md", ".tex", ".csv"):
            assert "max-F mean (max of the mean per-image F curve" in path.read_text(), path
    pooled = weaksal.evaluate(str(maps), str(root), maxf="pooled", thresholds=21)
    assert "pooled" in pooled.convention and "21 thresholds" in pooled.convention


def test_evaluate_skips_unpaired_dataset_files_only_when_asked(tmp_path):
    root = make_pairs(tmp_path / "set", "images", "GT", ["a", "b"])
    save_image(root / "images" / "c.jpg", random_rgb())  # an image without a mask
    maps = tmp_path / "maps"
    for stem in ("a", "b"):
        save_image(maps / f"{stem}.png", disk_mask())
    with pytest.raises(UnpairedFileError, match="--skip-unpaired"):
        weaksal.evaluate(maps, root)
    evaluation = weaksal.evaluate(maps, root, skip_unpaired=True)
    run = evaluation.runs[0]
    assert run.results["mae"] == 0.0 and run.unpaired == [str(root / "images" / "c.jpg")]


def test_list_models_gives_a_record_per_shipped_model_with_its_recorded_scores():
    import dataclasses
    import json

    from weaksal.methods import get_method
    from weaksal.pretrained import pretrained_dir, read_manifest

    records = {info.name: info for info in weaksal.list_models()}
    assert next(iter(records)) == "wss" and {"mws", "lps", "ssnet", "jsm"} <= set(records)
    wss = records["wss"]
    scores = json.loads((pretrained_dir("wss") / "eval.json").read_text())["benchmarks"]
    assert wss.ecssd_maxf_pooled == scores["ECSSD"]["maxf_pooled"]  # pooled max F, as recorded
    assert wss.ecssd_mae == scores["ECSSD"]["mae"]
    assert (wss.sod_maxf_pooled, wss.sod_mae) == (
        scores["SOD"]["maxf_pooled"],
        scores["SOD"]["mae"],
    )
    assert wss.task == "saliency" and wss.roles == ("saliency",)
    for name, info in records.items():
        assert info.supervision == get_method(info.method).supervision
        files = read_manifest(name)["files"]
        size = sum((pretrained_dir(name) / file).stat().st_size for file in files) / 2**20
        assert info.size_mb == pytest.approx(size)
    assert records["mws"].roles == ("saliency", "caption")
    assert records["ssnet"].task == "segmentation"
    lps = records["lps"]  # a promoter: no benchmark scores of its own, none invented
    assert lps.roles == ("promote",) and lps.task == "promote"
    assert (lps.ecssd_maxf_pooled, lps.ecssd_mae, lps.sod_maxf_pooled, lps.sod_mae) == (None,) * 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        wss.size_mb = 0.0
    # weaksal models: one line per record, the convention named
    line = wss.line()
    assert line.startswith("wss: saliency; from image-level class tags only; ")
    assert (
        f"max F pooled / MAE: ECSSD {wss.ecssd_maxf_pooled:.3f} / {wss.ecssd_mae:.3f},"
        f" SOD {wss.sod_maxf_pooled:.3f} / {wss.sod_mae:.3f}; {wss.size_mb:.1f} MB"
    ) in line
    assert "no ECSSD/SOD scores" in lps.line()


def test_check_reports_the_problems_of_a_dataset(tmp_path):
    root = make_pairs(tmp_path, "images", "GT", ["a", "b"])
    (root / "images" / "b.jpg").write_bytes(b"garbage")
    report = weaksal.check(root, workers=1)
    assert report.problems == 1 and "b.jpg" in str(report.unreadable)


def test_read_image_and_pil_give_the_same_pixels(tmp_path):
    image = photo()
    path = save_image(tmp_path / "p.png", image)
    np.testing.assert_array_equal(weaksal.as_rgb(Image.open(path)), read_image(path))


def test_every_exported_name_resolves_and_every_folder_command_returns_one_report():
    import typing

    for name in weaksal.__all__[1:]:
        assert getattr(weaksal, name) is not None, name
    for function in ("predict_folder", "promote_folder", "classic_folder", "refine_folder"):
        hints = typing.get_type_hints(getattr(weaksal, function))
        assert hints["return"] is weaksal.FolderReport, function


def test_classic_and_refine_folders_write_the_detectors_maps_and_report_by_stem(tmp_path):
    images = tmp_path / "photos"
    for index in range(3):
        save_image(images / f"p{index}.png", photo(seed=index))
    report = weaksal.classic_folder("ft", images, tmp_path / "maps")
    assert isinstance(report, weaksal.FolderReport)
    assert sorted(report.done) == ["p0", "p1", "p2"] and report.complete and not report.kept
    ft = get_detector("ft")
    for index in range(3):  # the same maps as the detector itself gives
        written = np.asarray(Image.open(tmp_path / "maps" / f"p{index}.png"))
        assert np.array_equal(written, ft(read_image(images / f"p{index}.png")))
    again = weaksal.classic_folder("ft", images, tmp_path / "maps")
    assert sorted(again.kept) == ["p0", "p1", "p2"] and not again.done  # resumed, not redone
    with pytest.raises(WeaksalError, match="another"):  # another producer's folder is refused
        weaksal.classic_folder("sr", images, tmp_path / "maps")

    (tmp_path / "maps" / "p2.png").unlink()  # one image without its map
    refined = weaksal.refine_folder("threshold", images, tmp_path / "maps", tmp_path / "labels")
    assert sorted(refined.done) == ["p0", "p1"] and len(refined.missing) == 1
    assert "p2" in refined.missing[0] and not refined.complete
    label = np.asarray(Image.open(tmp_path / "labels" / "p0.png"))
    assert set(np.unique(label)) <= {0, 255}  # the cut at 0.5 gives a binary label
    source = np.asarray(Image.open(tmp_path / "maps" / "p0.png"))
    assert np.array_equal(label > 0, source > 127)
    with pytest.raises(WeaksalError, match="unknown refiner"):
        weaksal.refine_folder("nope", images, tmp_path / "maps", tmp_path / "other")


def test_segmentation_comes_through_load_with_the_detector_protocol():
    segmenter = weaksal.load("ssnet", task="seg")
    assert isinstance(segmenter, weaksal.Detector) and segmenter.output == "classes"
    image = photo((64, 80))
    labels = segmenter(image)
    assert labels.dtype == np.uint8 and labels.shape == (64, 80)
    assert int(labels.max()) < len(segmenter.names) and segmenter.names[0] == "background"
    with pytest.raises(WeaksalError, match="no segmentation"):
        weaksal.load("wss", task="seg")
    with pytest.raises(WeaksalError, match="no segmentation"):
        weaksal.load("mr", task="seg")


class _SoftSquare(weaksal.Detector):
    """A stand-in detector whose map is a resized, soft square, as a network's is."""

    name = "soft-square"

    def maps(self, images):
        import cv2

        out = []
        for image in images:
            truth = np.zeros(image.shape[:2], np.float32)
            truth[10:35, 15:45] = 1.0
            coarse = cv2.resize(truth, (8, 8), interpolation=cv2.INTER_AREA)
            out.append(cv2.resize(coarse, image.shape[1::-1], interpolation=cv2.INTER_LINEAR))
        return out

    def identity(self):
        return {"test": self.name}


def test_cutout_takes_any_input_and_gives_rgba_or_a_composite(tmp_path):
    import io

    from weaksal.refine.guided_filter import guided_filter

    image = photo((45, 61))
    detector = _SoftSquare()
    rgba = weaksal.cutout(image, model=detector)
    assert rgba.mode == "RGBA" and rgba.size == (61, 45)
    pixels = np.asarray(rgba)
    np.testing.assert_array_equal(pixels[..., :3], image)
    expected = np.round(guided_filter(image, detector(image)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels[..., 3], expected)  # the refined map is the alpha
    raw = np.asarray(weaksal.cutout(image, model=detector, edges="map"))[..., 3]
    np.testing.assert_array_equal(raw, np.round(detector(image) * 255).astype(np.uint8))
    path = save_image(tmp_path / "p.png", image)
    encoded = io.BytesIO()
    Image.fromarray(image).save(encoded, format="PNG")
    for same in (str(path), Image.open(path), encoded.getvalue()):
        np.testing.assert_array_equal(np.asarray(weaksal.cutout(same, model=detector)), pixels)
    white = np.asarray(weaksal.cutout(image, model=detector, background="white", threshold=0.5))
    hard = expected >= 128
    assert white.shape == (45, 61, 3)
    assert (white[~hard] == 255).all() and np.array_equal(white[hard], image[hard])
    assert np.asarray(weaksal.cutout(image, model=detector, background="blur")).shape == (45, 61, 3)


def test_a_missing_extra_is_named_with_an_install_line_that_exists():
    from weaksal.plumbing.extras import missing_extra

    message = missing_extra(
        ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime")
    )
    assert "onnxruntime" in message and "'onnx' extra" in message
    assert "-e '.[onnx]'" in message and "constraints.txt" in message  # weaksal is not on PyPI
    assert missing_extra(ModuleNotFoundError("x", name="something_else")) is None
