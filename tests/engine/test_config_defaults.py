"""One source of defaults: the dataclasses; the YAML configs hold only what differs from them.

* every shipped model's ``config.yaml`` is what its method's default config resolves to,
  but for the keys listed (with why) in :data:`SHIPPED_EXCEPTIONS`;
* no YAML under ``weaksal/configs`` writes a key that changes nothing (one equal to its
  dataclass default, or to what its ``base`` already sets), so the two cannot drift apart;
* ``weaksal train --print-config`` prints the resolved config and trains nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from weaksal.cli import app
from weaksal.engine.config import (
    CONFIG_DIR,
    _differences,
    _parse_yaml,
)
from weaksal.engine.schema import TOP_LEVEL
from weaksal.methods import get_method, resolved_training_config
from weaksal.plumbing.errors import ConfigError
from weaksal.pretrained import pretrained_dir, shipped_names

ABSENT = "(absent)"  # how _differences names a key one side lacks

#: (shipped model, dotted key): (its value in the shipped config.yaml, why it is not the
#: value of the method's default config). Nothing else may differ.
SHIPPED_EXCEPTIONS = {
    ("ssnet", "data.segmentation"): (
        "/work/main/runs/duts-seg",
        "set on the command line: `python bench/ssnet_tables.py train --out runs/ssnet-tables"
        " data.segmentation=runs/duts-seg` (BENCHMARKS.md; the run was given the absolute"
        " path of the same make-seg tree; it has no run.json)",
    ),
    ("ssnet", "evaluate"): (
        ABSENT,
        "not a training key, and newer than the run: `evaluate` entered the ssnet config in"
        " the commit that shipped the model (f3fd8d2), whose scores bench/ssnet_tables.py wrote",
    ),
    ("jsm", "data.train_limit"): (
        ABSENT,
        "the option came after the run started (BENCHMARKS.md 'JSM': 'four edits that do not"
        " touch training: the data.train_limit option, ...'); its default 0 (every scene) is"
        " what the run trained on",
    ),
    ("wss", "data.untagged"): (
        ABSENT,
        "newer than the run (issue 32): every DUTS-TR-50 image is tagged, so its default"
        " 'error' (refuse untagged images) changes nothing the run did",
    ),
    ("mws", "data.untagged"): (
        ABSENT,
        "newer than the run (issue 32): every DUTS-TR-50 image is tagged, so its default"
        " 'error' (refuse untagged images) changes nothing the run did",
    ),
}

#: "file: dotted key" of YAML keys repeated on purpose although they change nothing, with why
INTENTIONALLY_REPEATED: dict[str, str] = {}


def _get(config: dict, dotted: str):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def _put(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        config = config[part]
    if value == ABSENT:
        config.pop(last, None)
    else:
        config[last] = value


def _command_line_overrides(name: str) -> dict[str, object]:
    """``key=value`` arguments of every command that ran the shipped model's run (run.json)."""
    path = pretrained_dir(name) / "run.json"
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    overrides = {}
    for run in (record, *record.get("resumes", [])):
        for argument in run["argv"]:
            key, sep, value = argument.partition("=")
            if sep and not key.startswith("-"):
                overrides[key.removeprefix("+")] = _parse_yaml(value)
    return overrides


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_models_are_their_methods_default_config(name):
    folder = pretrained_dir(name)
    method = json.loads((folder / "manifest.json").read_text())["method"]
    shipped = yaml.safe_load((folder / "config.yaml").read_text())
    assert shipped["method"] == method
    default = resolved_training_config(get_method(method).default_config)
    expected = json.loads(json.dumps(default))  # a deep copy
    for (model, key), (value, _why) in SHIPPED_EXCEPTIONS.items():
        if model == name:
            assert _get(default, key) != value, f"{key}: no longer an exception, remove it"
            _put(expected, key, value)
    assert _differences(shipped, expected, limit=50) == []
    for key, value in _command_line_overrides(name).items():  # each one listed, or now default
        assert (name, key) in SHIPPED_EXCEPTIONS or _get(default, key) == value, key


def test_the_mws_models_command_line_override_is_now_its_configs():
    assert _command_line_overrides("mws") == {"snet.rounds": 5}
    assert resolved_training_config("mws")["snet"]["rounds"] == 5


# -- no YAML key that changes nothing ---------------------------------------------------
def _leaves(data: dict) -> list[str]:
    """The keys a YAML file writes: every key of its sections, and its top-level values."""
    keys = []
    for key, value in data.items():
        if key in ("base", "method"):
            continue
        if isinstance(value, dict) and key not in TOP_LEVEL:
            keys += [f"{key}.{field}" for field in value]
        else:
            keys.append(key)
    return keys


def _chain(path: Path) -> list[Path]:
    files = [path.resolve()]
    while "base" in (data := _parse_yaml(files[-1].read_text()) or {}):
        files.append((files[-1].parent / data["base"]).resolve())
    return files


def _trainable(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.yaml") if "method" in _merged_top(p))


def _merged_top(path: Path) -> set[str]:
    return set().union(*(set(_parse_yaml(p.read_text()) or {}) for p in _chain(path)))


def redundant_keys(tree: Path, file: Path) -> list[str]:
    """The keys of ``file`` (in the config tree ``tree``) whose removal leaves every config
    using it (itself, or one whose ``base`` chain holds it) resolving to the same config."""
    users = [p for p in _trainable(tree) if file.resolve() in _chain(p)]
    assert users, f"{file}: no config uses it"
    before = {p: resolved_training_config(p) for p in users}
    text = file.read_text()
    data = _parse_yaml(text)
    found = []
    try:
        for key in _leaves(data):
            trimmed = json.loads(json.dumps(data))
            _put(trimmed, key, ABSENT)
            file.write_text(yaml.safe_dump(trimmed, sort_keys=False))
            try:
                after = {p: resolved_training_config(p) for p in users}
            except ConfigError:  # a required key (or one that makes another valid)
                continue
            if all(_differences(before[p], after[p]) == [] for p in users):
                found.append(key)
    finally:
        file.write_text(text)
    return found


@pytest.fixture
def config_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, tree)
    return tree


@pytest.mark.parametrize(
    "name", sorted(str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.yaml")), ids=str
)
def test_no_config_repeats_a_default(config_tree, name):
    found = [
        key
        for key in redundant_keys(config_tree, config_tree / name)
        if f"{name}: {key}" not in INTENTIONALLY_REPEATED
    ]
    assert found == [], (
        f"{name}: {', '.join(found)} hold the value they would have without them (their"
        " dataclass default, or their base's): delete them, or move a comment on them into"
        " the dataclass (weaksal/methods/<method>/config.py, weaksal/engine/schema.py)"
    )


def test_the_check_finds_a_repeated_default_and_a_repeated_base_value(config_tree):
    wss = config_tree / "wss" / "wss_fpn_efficientnet_lite0.yaml"
    wss.write_text(
        wss.read_text()
        + "stage1:\n  lr: 1.0e-4\n  steps: 600\n"  # the dataclass's; the base's
        + "data:\n  train: DUTS-TR-50\n  val_split: null\n"  # the dataclass's; a change
    )
    assert redundant_keys(config_tree, wss) == ["stage1.lr", "stage1.steps", "data.train"]
    # the dataclass's value, but not the base's (engine_cpu.yaml logs every 10 steps): needed
    jsm = config_tree / "jsm" / "jsm_efficientnet_lite0.yaml"
    assert _parse_yaml(jsm.read_text())["engine"]["log_every"] == 20
    assert "engine.log_every" not in redundant_keys(config_tree, jsm)


# -- weaksal train --print-config ---------------------------------------------------------
runner = CliRunner()


def test_print_config_prints_every_resolved_value_and_trains_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arguments = ["train", "--config", "smoke/wss", "stage2.rounds=4", "--print-config"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert printed["method"] == "wss" and printed["stage2"]["rounds"] == 4  # the override
    assert printed["stage2"]["steps"] == 16 and printed["labels"]["workers"] == 1  # smoke's own
    assert printed["labels"]["sizes"] == [224, 256, 320]  # wss_fpn's, through base:
    assert printed["stage1"]["steps"] == 24 and printed["engine"]["log_every"] == 10  # base's
    assert printed["model"]["pooling"] == "gsp" and printed["model"]["mu"] == 10.0  # defaults
    assert printed["stage1"]["l1_weight"] == 5e-4 and printed["engine"]["devices"] == 1
    assert printed["stage2"]["delta"] == 0.95 and printed["stage2"]["hard"] is True
    assert printed == resolved_training_config("smoke/wss", ["stage2.rounds=4"])
    assert list(printed) == ["method", "seed", "evaluate", *get_method("wss").sections]
    assert list(tmp_path.iterdir()) == []  # no runs/smoke-data... run folder
    result = runner.invoke(app, [*arguments, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0 and yaml.safe_load(result.stdout) == printed
    assert not (tmp_path / "run").exists()


def test_overrides_may_set_keys_the_yaml_leaves_to_their_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = ["engine.workers=3", "stage1.lr=2e-4", "labels.sizes=[256, 320]", "seed=4"]
    result = runner.invoke(app, ["train", "--config", "wss", *overrides, "--print-config"])
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert printed["engine"]["workers"] == 3 and printed["stage1"]["lr"] == 2e-4
    assert printed["labels"]["sizes"] == [256, 320] and printed["seed"] == 4
    assert printed["engine"]["precision"] == "bf16-mixed"  # the rest of the section stays
    # bench/ssnet_tables.py's overrides on a config that leaves all of them to the defaults
    ssnet = ["data.segmentation=/x/duts-seg", "stage1.tasks=classification"]
    resolved = resolved_training_config("ssnet", ssnet)
    assert resolved["data"]["segmentation"] == "/x/duts-seg"
    assert resolved["stage1"]["tasks"] == "classification"
    assert resolved["data"]["saliency"] == "DUTS-TR-50"
    with pytest.raises(ConfigError, match="did you mean engine.workers"):
        resolved_training_config("wss", ["engine.worker=3"])
    with pytest.raises(ConfigError, match="goes inside 'model.mu', which is a value"):
        resolved_training_config("wss", ["model.mu.x=3"])
    with pytest.raises(ConfigError, match="replaces the section 'labels'"):
        resolved_training_config("wss", ["labels=3"])
    assert list(tmp_path.iterdir()) == []


def test_print_config_refuses_what_training_would_refuse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "--config", "wss", "stage2.round=4", "--print-config"])
    assert result.exit_code != 0 and "stage2.rounds" in result.output  # did you mean
    result = runner.invoke(app, ["train", "--config", "wss", "stage2.rounds=x", "--print-config"])
    assert result.exit_code != 0 and "'stage2.rounds' is 'x'" in result.output
    result = runner.invoke(app, ["train", "mws", "--config", "wss", "--print-config"])
    assert result.exit_code != 0 and "not 'mws'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_resolved_training_config_is_what_the_pipeline_writes(tmp_path):
    from weaksal.engine.schema import resolve_config

    resolved = resolved_training_config("reference/fpn_efficientnet_lite2", ["train.lr=3e-4"])
    assert resolved["model"]["backbone"] == "efficientnet_lite2"
    assert resolved["model"]["decoder_width"] == 64  # SaliencyModelSection's default
    assert resolved["train"]["lr"] == 3e-4 and resolved["train"]["steps"] == 3350
    assert resolve_config(resolved, get_method("reference").sections) == resolved  # a fixpoint
    lone = tmp_path / "base.yaml"
    lone.write_text("engine:\n  workers: 2\n")
    with pytest.raises(ConfigError, match="names no method"):
        resolved_training_config(lone)
