"""The table of network architectures, filled by the family files of this package.

Each family file (``snet.py``, ``wss.py``...) registers its networks with
:func:`register_model`: the builder, the task contract (task, inputs,
outputs), the defaults of its spec keys, and, for files written before the
models package, how their parameter names map to today's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from weaksal.models._outputs import INPUTS, OUTPUT_FIELDS, TASKS
from weaksal.plumbing.registry import Entry, Registry

MODELS = Registry("architecture", discover="weaksal.models")

#: spec keys every architecture has
COMMON_DEFAULTS: dict[str, Any] = {"input_size": 256, "freeze_bn": False}

Builder = Callable[[dict[str, Any], str], nn.Module]


def register_model(
    name: str,
    *,
    task: str,
    inputs: str = "rgb",
    outputs: tuple[str, ...] = ("saliency",),
    defaults: Mapping[str, Any] | None = None,
    legacy_keys: Mapping[str, str] | None = None,
    about: str = "",
) -> Callable[[Builder], Builder]:
    """Register ``builder(spec, pretrained) -> nn.Module`` as architecture ``name``.

    ``defaults`` fill the spec keys a config leaves out (written into every
    saved file, so a file describes itself); ``legacy_keys`` maps parameter
    name prefixes of format-1 files (before this package) to today's.
    """
    if task not in TASKS:
        raise ValueError(f"{name}: task must be one of {sorted(TASKS)}, not {task!r}")
    if inputs not in INPUTS:
        raise ValueError(f"{name}: inputs must be one of {INPUTS}, not {inputs!r}")
    unknown = set(outputs) - set(OUTPUT_FIELDS)
    if unknown:
        raise ValueError(f"{name}: unknown outputs {sorted(unknown)}")
    return MODELS.register(
        name,
        task=task,
        inputs=inputs,
        outputs=tuple(outputs),
        defaults={**COMMON_DEFAULTS, **(defaults or {})},
        legacy_keys=dict(legacy_keys or {}),
        about=about,
    )


def architecture(spec: Mapping[str, Any]) -> Entry:
    name = spec.get("architecture")
    if not name:
        raise ValueError("a model spec needs an 'architecture'")
    return MODELS.get(name)


def complete_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` with its architecture's defaults and task contract filled in."""
    entry = architecture(spec)
    return {
        **entry.defaults,
        **spec,
        "task": entry.task,
        "inputs": entry.inputs,
        "outputs": list(entry.outputs),
    }


def create_model(spec: Mapping[str, Any], pretrained: str = "imagenet") -> nn.Module:
    """Network described by ``spec`` (needs ``architecture`` and ``backbone``)."""
    return architecture(spec).target(complete_spec(spec), pretrained)
