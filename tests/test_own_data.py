"""Training on one's own tagged photos (issue 33): `weaksal train wss --images DIR` holds out a
seeded share of every class, written into the run folder, and validates on it only."""

from __future__ import annotations

import csv
import os

import pytest
import yaml
from typer.testing import CliRunner

from weaksal.cli import app

pytestmark = pytest.mark.data


def _photos(real_data, folder, classes=3, per_class=8):
    """Links to real DUTS-TR-50 photos with their tags, and no split.csv."""
    root = real_data / "DUTS-TR-50"
    rows = list(csv.DictReader(open(root / "tags.csv")))
    by_tag: dict[str, list[str]] = {}
    for row in rows:
        by_tag.setdefault(row["tag"], []).append(row["image"])
    folder.mkdir()
    chosen = [(s, t) for t in sorted(by_tag)[:classes] for s in sorted(by_tag[t])[:per_class]]
    with open(folder / "tags.csv", "w") as handle:
        handle.write("image,tag\n")
        for stem, tag in chosen:
            os.symlink(root / "DUTS-TR-Image" / f"{stem}.jpg", folder / f"{stem}.jpg")
            handle.write(f"{stem},{tag}\n")
    return folder, dict(chosen)


@pytest.mark.slow
def test_own_photos_train_with_a_seeded_held_out_split(real_data, tmp_path):
    photos, tags = _photos(real_data, tmp_path / "photos")
    run = tmp_path / "runs" / "mine"
    tiny = [
        "model.input_size=64", "stage1.steps=2", "stage1.batch_size=4", "stage2.steps=2",
        "stage2.batch_size=4", "stage2.rounds=1", "labels.workers=1", "engine.val_every=1",
    ]  # fmt: skip
    result = CliRunner().invoke(
        app, ["train", "wss", "--images", str(photos), "--out", str(run), *tiny]
    )
    assert result.exit_code == 0, result.output
    splits = {r["image"]: r["split"] for r in csv.DictReader(open(run / "data" / "split.csv"))}
    assert set(splits) == set(tags)
    held = [s for s, split in splits.items() if split == "val"]
    for tag in set(tags.values()):  # a share of every class is held out, the rest trains
        members = [s for s, t in tags.items() if t == tag]
        assert 1 <= sum(s in held for s in members) < len(members)
    stage1 = yaml.safe_load((run / "stage1" / "config.yaml").read_text())
    assert stage1["data"]["val_split"] == "val" and stage1["data"]["train_split"] == "train"
    assert (
        "validation: stage1 top1" in result.output and f"on {len(held)} held-out" in result.output
    )
    assert (run / "final.safetensors").is_file()
    first = (run / "data" / "split.csv").read_text()  # a resumed run keeps the same split
    again = CliRunner().invoke(
        app, ["train", "wss", "--images", str(photos), "--out", str(run), *tiny]
    )
    assert again.exit_code == 0 and (run / "data" / "split.csv").read_text() == first


def test_too_few_photos_are_said_to_hold_nothing_out(real_data, tmp_path):
    photos, _ = _photos(real_data, tmp_path / "photos", classes=2, per_class=3)
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "wss", "--images", str(photos), "--out", str(run), "--print-config"]
    )
    assert result.exit_code == 0, result.output
    assert "too few to hold any out" in " ".join(result.output.split())
    printed = yaml.safe_load(result.output[result.output.index("method:") :])
    assert printed["data"]["val_split"] is None and printed["data"]["train"] == str(run / "data")


@pytest.mark.slow
def test_the_python_call_trains_on_own_photos_as_the_command_does(real_data, tmp_path):
    import weaksal

    photos, tags = _photos(real_data, tmp_path / "photos")
    tiny = [
        "model.input_size=64", "stage1.steps=1", "stage1.batch_size=4", "stage2.steps=1",
        "stage2.batch_size=4", "stage2.rounds=1", "labels.workers=1",
    ]  # fmt: skip
    result = weaksal.train("wss", tmp_path / "run", tiny, images=photos)
    assert result.models == [tmp_path / "run" / "final.safetensors"]
    assert result.validation["stage"] == "stage1" and result.validation["key"] == "top1"
    held = sum(1 for row in csv.DictReader(open(tmp_path / "run" / "data" / "split.csv"))
               if row["split"] == "val")  # fmt: skip
    assert result.validation["images"] == held >= 3  # one per class at least
    import json

    record = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert record["benchmarks"] == {}  # no benchmark scored, but the run is complete to ship
