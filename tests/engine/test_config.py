import json
import subprocess
from pathlib import Path

import pytest
import yaml

import weaksal
from weaksal.engine.config import (
    dump_config,
    git_state,
    load_config,
    run_record,
    write_run_files,
)
from weaksal.plumbing.errors import ConfigError, WeaksalError

BASE = """\
model:
  name: mlp
  depth: 2
  widths: [8, 8]
train:
  lr: 1e-3
  epochs: 10
  amp: false
data:
  root: /data
"""

CHILD = """\
base: base.yaml
model:
  depth: 3
train:
  lr: 5e-3
  schedule: cosine
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    child = tmp_path / "child.yaml"
    child.write_text(CHILD)
    return child


def test_base_is_deep_merged_under_child(config_file):
    config = load_config(config_file)
    assert config == {
        "model": {"name": "mlp", "depth": 3, "widths": [8, 8]},
        "train": {"lr": 0.005, "epochs": 10, "amp": False, "schedule": "cosine"},
        "data": {"root": "/data"},
    }
    assert list(config) == ["model", "train", "data"]  # base order, child keys after


def test_base_chain_and_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\nx: 1\n")
    (tmp_path / "b.yaml").write_text("base: sub/c.yaml\nx: 2\ny: 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("x: 3\ny: 3\nz: 3\n")
    assert load_config(tmp_path / "a.yaml") == {"x": 1, "y": 2, "z": 3}
    (tmp_path / "sub" / "c.yaml").write_text("base: ../a.yaml\n")
    with pytest.raises(ConfigError, match="include each other"):
        load_config(tmp_path / "a.yaml")


def test_overrides_are_typed(config_file):
    config = load_config(
        config_file,
        [
            "train.lr=1e-4",
            "train.epochs=20",
            "train.amp=true",
            "model.widths=[16, 32]",
            "data.root=null",
            "model.name=unet",
            "+train.new_key=3",
            "+extra.deep.key=-2.5E+3",
        ],
    )
    assert config["train"]["lr"] == 0.0001 and isinstance(config["train"]["lr"], float)
    assert config["train"]["epochs"] == 20 and isinstance(config["train"]["epochs"], int)
    assert config["train"]["amp"] is True
    assert config["model"]["widths"] == [16, 32]
    assert config["data"]["root"] is None
    assert config["model"]["name"] == "unet"
    assert config["train"]["new_key"] == 3
    assert config["extra"] == {"deep": {"key": -2500.0}}


def test_exponent_floats_in_files_and_lists(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1e-4\nb: [5e-3, 2E6]\nc: 1.5e-2\nd: '1e-4'\ne: 1_000\n")
    assert load_config(path) == {"a": 0.0001, "b": [0.005, 2e6], "c": 0.015, "d": "1e-4", "e": 1000}


def test_unknown_key_names_close_matches_and_plus(config_file):
    with pytest.raises(ConfigError) as info:
        load_config(config_file, ["train.lrr=0.1"])
    message = str(info.value)
    assert "train.lrr" in message and "train.lr" in message and "+train.lrr=0.1" in message
    assert str(config_file) in message
    assert isinstance(info.value, WeaksalError)
    with pytest.raises(ConfigError, match="trian.epochs.*train.epochs"):
        load_config(config_file, ["trian.epochs=3"])


def test_bad_overrides(config_file):
    with pytest.raises(ConfigError, match="section 'model' with a single value.*model.depth"):
        load_config(config_file, ["model=3"])
    assert load_config(config_file, ["model=null"])["model"] is None  # an optional section, off
    with pytest.raises(ConfigError, match="inside 'train.lr', which is a value"):
        load_config(config_file, ["train.lr.x=3"])
    with pytest.raises(ConfigError, match="not 'key=value'"):
        load_config(config_file, ["train.lr"])
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(config_file, ["model.widths=[1, 2"])


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml: top level is a list"):
        load_config(listing)
    orphan = tmp_path / "orphan.yaml"
    orphan.write_text("base: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="nowhere.yaml: config file not found"):
        load_config(orphan)


def test_dump_keeps_order_and_round_trips(config_file):
    config = load_config(config_file, ["train.lr=1e-10"])
    text = dump_config(config)
    assert text.index("model:") < text.index("train:") < text.index("data:")
    assert yaml.safe_load(text) == config


def _git(*args: str) -> str:
    root = Path(weaksal.__file__).parent
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()


def test_run_record_fields():
    record = run_record(seed=7, argv=["train", "--out", "x"])
    assert record["seed"] == 7 and record["argv"] == ["train", "--out", "x"]
    assert record["versions"]["weaksal"] == weaksal.__version__
    assert {"python", "torch", "numpy"} <= set(record["versions"])
    assert record["cpu_count"] >= 1 and record["torch_threads"] >= 1
    assert record["started_utc"].endswith("+00:00")
    assert isinstance(record["cuda_devices"], list) and record["hostname"]
    revision = _git("rev-parse", "HEAD")
    if revision:
        assert record["git"]["revision"] == revision
        assert isinstance(record["git"]["dirty"], bool)
    json.dumps(record)  # plain JSON


def test_git_state_outside_git_or_without_git(tmp_path, monkeypatch):
    assert git_state(tmp_path) is None
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_state(Path(weaksal.__file__).parent) is None


def test_write_run_files_then_resume(tmp_path, config_file):
    config = load_config(config_file)
    out = tmp_path / "run"
    write_run_files(out, config, seed=1, argv=["first"])
    assert load_config(out / "config.yaml") == config
    first = json.loads((out / "run.json").read_text())
    assert first["argv"] == ["first"] and "resumes" not in first

    write_run_files(out, load_config(config_file), seed=1, argv=["second"])
    write_run_files(out, load_config(config_file), seed=1, argv=["third"])
    record = json.loads((out / "run.json").read_text())
    assert record["argv"] == ["first"]
    assert [r["argv"] for r in record["resumes"]] == [["second"], ["third"]]


def test_write_run_files_refuses_another_config(tmp_path, config_file):
    out = tmp_path / "run"
    write_run_files(out, load_config(config_file), seed=1)
    before = (out / "config.yaml").read_text()
    changed = load_config(config_file, ["train.lr=1e-4", "+train.warmup=5"])
    with pytest.raises(ConfigError) as info:
        write_run_files(out, changed, seed=1)
    message = str(info.value)
    assert "config.yaml" in message and "another config" in message and "--out" in message
    assert "train.lr: 0.005 -> 0.0001" in message and "train.warmup" in message
    assert (out / "config.yaml").read_text() == before


def test_configs_ship_in_the_package_and_resolve_by_name(tmp_path):
    from weaksal.engine.config import CONFIG_DIR, config_names, find_config
    from weaksal.methods import METHODS, method_config

    assert CONFIG_DIR.parent.name == "weaksal"  # inside the package: a pip install has them
    assert "wss/wss_fpn_efficientnet_lite0" in config_names()
    assert not [name for name in config_names() if name.startswith("base")]
    for method in METHODS:  # every method's own name trains its default config
        path = method_config(method)
        assert path.is_file() and load_config(path)["method"] == method
    fpn = CONFIG_DIR / "wss" / "wss_fpn_efficientnet_lite0.yaml"
    assert method_config("wss") == fpn  # the shipped model's config
    assert find_config("wss/wss_fpn_efficientnet_lite0") == fpn
    assert find_config("wss/wss_fpn_efficientnet_lite0.yaml") == fpn
    assert find_config("wss_fpn_efficientnet_lite0") == fpn
    own = tmp_path / "wss.yaml"
    own.write_text("method: wss\n")
    assert method_config(own) == own  # a file of that name wins
    with pytest.raises(ConfigError, match="a method .*wss.*wss/wss_fpn_efficientnet_lite0"):
        method_config("nothing_like_it")
