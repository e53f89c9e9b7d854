"""Typed config sections: defaults in one place, unknown keys and wrong types refused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from weaksal.engine.config import load_config
from weaksal.engine.schema import TrainSection, resolve_config
from weaksal.methods import METHODS, get_method
from weaksal.plumbing.errors import ConfigError
from weaksal.pretrained import pretrained_dir, shipped_names

CONFIGS = sorted(p for p in Path("configs").glob("*/*.yaml") if p.parent.name != "base")


@dataclass
class Loop(TrainSection):
    delta: float = 0.95
    rule: str | float = "2mean"


def test_defaults_fill_in_and_ints_become_floats():
    resolved = resolve_config({"method": "x", "loop": {"steps": 5, "lr": 1}}, {"loop": Loop})
    assert resolved["loop"] == {
        "steps": 5,
        "batch_size": 8,
        "lr": 1.0,
        "head_lr_mult": 10.0,
        "schedule": "poly",
        "weight_decay": 0.0,
        "flip": True,
        "grad_clip": 10.0,
        "delta": 0.95,
        "rule": "2mean",
    }
    assert isinstance(resolved["loop"]["lr"], float)
    assert (
        resolve_config({"loop": {"steps": 1, "rule": 0.5}}, {"loop": Loop})["loop"]["rule"] == 0.5
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"loop": {"steps": 1, "lr_": 1e-3}}, "unknown key 'loop.lr_'.*did you mean loop.lr"),
        ({"lopo": {"steps": 1}}, "unknown section 'lopo'.*did you mean loop"),
        ({"loop": {"steps": "ten"}}, "'loop.steps' is 'ten', which is not a int"),
        ({"loop": {"steps": 1, "flip": 1}}, "'loop.flip' is 1, which is not a bool"),
        ({"loop": {"steps": 1, "grad_clip": "x"}}, "not a float or null"),
        ({"loop": {}}, "'loop.steps' is missing"),
    ],
)
def test_mistakes_are_refused_with_the_key_named(config, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(config, {"loop": Loop})


@pytest.mark.parametrize("path", CONFIGS, ids=str)
def test_every_committed_config_resolves_under_its_method(path):
    config = load_config(path)
    resolved = resolve_config(config, get_method(config["method"]).sections, str(path))
    assert resolved["engine"]["precision"] == "bf16-mixed"  # from configs/base/engine_cpu.yaml
    assert resolve_config(resolved, get_method(config["method"]).sections) == resolved


#: the committed config each shipped model was trained from, where not configs/NAME/NAME_...
SHIPPED_FROM = {
    "ssnet": "configs/ssnet/ssnet_fpn_efficientnet_lite0.yaml",
    "wss": "configs/wss/wss_fpn_efficientnet_lite0.yaml",  # issue 18
    "mws": "configs/mws/mws_fpn_efficientnet_lite0.yaml",  # issue 18
    "lps": "configs/lps/lps_fpn_efficientnet_lite0.yaml",  # issue 18
}


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_models_configs_resolve_to_the_committed_configs(name):
    shipped = yaml.safe_load((pretrained_dir(name) / "config.yaml").read_text())
    sections = get_method(shipped["method"]).sections
    committed = load_config(
        SHIPPED_FROM.get(name, f"configs/{name}/{name}_efficientnet_lite0.yaml")
    )
    ran, written = resolve_config(shipped, sections), resolve_config(committed, sections)
    for config in (ran, written):
        config.pop("evaluate", None)  # which benchmarks report afterwards: not training
        if "segmentation" in config.get("data", {}):  # a derived tree: where it was made
            config["data"]["segmentation"] = Path(config["data"]["segmentation"]).name
    assert ran == written


def test_every_method_registers_the_same_protocol():
    assert list(METHODS) == ["jsm", "lps", "mws", "reference", "ssnet", "wss"]
    for entry in METHODS.entries():
        assert callable(entry.target) and "engine" in entry.sections and entry.about
        assert "model.safetensors" in entry.shipped
