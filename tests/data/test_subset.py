"""``weaksal data subset``: the smoke run's data, a fixed cut of a tagged dataset."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.conftest import make_tagged_saliency
from weaksal.cli import app
from weaksal.data.discover import open_dataset, read_split_file
from weaksal.data.sources import split_samples
from weaksal.engine.config import find_config, load_config


def test_subset_keeps_the_first_images_of_the_first_classes(tmp_path):
    source = make_tagged_saliency(tmp_path / "src", count=12, val_from=8)  # zebra/apple
    out = tmp_path / "sub"
    result = CliRunner().invoke(
        app, ["data", "subset", str(source), "--out", str(out), "--classes", "1",
              "--train", "2", "--val", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "train 2, val 1 images" in result.output
    # sorted classes: apple (odd stems); its first two train and first val images
    assert read_split_file(out / "split.csv") == {"im01": "train", "im03": "train", "im09": "val"}
    index = open_dataset(out)
    assert sorted(s.stem for s in index) == ["im01", "im03", "im09"]
    assert all(s.label("tags") == ("apple",) and s.image.is_symlink() for s in index)
    assert (out / "DUTS-TR-Mask" / "im09.png").resolve() == source / "DUTS-TR-Mask" / "im09.png"
    # a config names it by its path from the working folder
    assert [s.stem for s in split_samples(out, "val")] == ["im09"]


def test_smoke_configs_train_on_the_subset_without_benchmarks():
    for name in ("smoke/wss", "smoke/reference"):
        config = load_config(find_config(name))
        assert config["data"]["train"] == "runs/smoke-data" and config["evaluate"] == []
    wss = load_config(find_config("smoke/wss"))
    assert wss["model"]["decoder"] == "fpn"  # the shipped pipeline, only shorter
    assert wss["stage1"]["steps"] * 8 < 400 and wss["stage2"]["steps"] < 50
