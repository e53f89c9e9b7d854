"""Faults: crafted model files are refused by name before anything is built (issue 15, defect 9)."""

from __future__ import annotations

import json
import resource

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.faults.helpers import TINY_SPEC, tiny_model
from weaksal.models import load_model
from weaksal.plumbing.errors import CheckpointError


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("m") / "good.safetensors")


def _with_spec(good, tmp_path, raw_spec: str, state=None):
    path = tmp_path / "crafted.safetensors"
    save_file(state or load_file(str(good)), str(path), metadata={"weaksal_spec": raw_spec})
    return path


@pytest.mark.parametrize(
    "raw, words",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a JSON list, not an object"),
        (json.dumps({"backbone": "efficientnet_lite0"}), "needs an 'architecture'"),
        (json.dumps({**TINY_SPEC, "architecture": "nope"}), "nope"),
        (json.dumps({**TINY_SPEC, "input_size": 0}), "'input_size' is 0"),
        (json.dumps({**TINY_SPEC, "input_size": -16}), "'input_size' is -16"),
        (json.dumps({**TINY_SPEC, "input_size": "big"}), "'input_size' is 'big'"),
        (json.dumps({**TINY_SPEC, "decoder_width": 1.5}), "'decoder_width' is 1.5, not a int"),
        (json.dumps({**TINY_SPEC, "backbone": 7}), "'backbone' is 7"),
        (json.dumps({**TINY_SPEC, "backbone": "resnet9000"}), "resnet9000"),
    ],
)
def test_a_crafted_spec_is_refused_by_name(good, tmp_path, raw, words):
    path = _with_spec(good, tmp_path, raw)
    with pytest.raises(CheckpointError, match="crafted.safetensors") as error:
        load_model(path)
    assert words in str(error.value)


def test_an_inflated_spec_is_refused_before_allocating_it(good, tmp_path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = _with_spec(good, tmp_path, json.dumps({**TINY_SPEC, "decoder_width": 200_000}))
    with pytest.raises(CheckpointError, match="shapes differ"):
        load_model(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200  # an FPN of width 200k would need tens of GB


def test_weights_of_another_shape_are_refused(good, tmp_path):
    state = load_file(str(good))
    key = next(k for k in state if k.startswith("head."))
    state[key] = torch.zeros(3, *state[key].shape[1:])
    path = _with_spec(good, tmp_path, json.dumps(TINY_SPEC), state)
    with pytest.raises(CheckpointError, match=f"shapes differ, e.g. {key}"):
        load_model(path)


def test_nan_weights_are_refused_by_tensor_name(good, tmp_path):
    state = load_file(str(good))
    key = next(k for k in state if k.startswith("head.") and state[k].is_floating_point())
    state[key] = torch.full_like(state[key], float("nan"))
    path = _with_spec(good, tmp_path, json.dumps(TINY_SPEC), state)
    with pytest.raises(CheckpointError, match=f"weight {key} holds NaN"):
        load_model(path)


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x80\x04 pickle? no")
    with pytest.raises(CheckpointError, match="not a readable safetensors model file"):
        load_model(path)
