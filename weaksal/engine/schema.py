"""Typed config sections: each method declares its sections once, as dataclasses with defaults.

:func:`resolve_config` checks a loaded YAML config against them: an unknown
key is refused with the closest known names, a value of the wrong type is
refused, and every key a config leaves out takes the default written in the
dataclass. The result is a plain dict with every key filled in, so loops read
``section["key"]`` and a default lives in one place only.

>>> @dataclass
... class Train:
...     steps: int
...     lr: float = 1e-4
>>> resolve_config({"train": {"steps": 10}}, {"train": Train})["train"]
{'steps': 10, 'lr': 0.0001}
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

from weaksal.plumbing.errors import ConfigError

#: top-level keys every config may have besides its sections
TOP_LEVEL = ("method", "seed", "evaluate", "stage")


def resolve_config(
    config: Mapping[str, Any], sections: Mapping[str, type], source: str = "config"
) -> dict[str, Any]:
    """``config`` with every declared section checked and completed (see the module docstring).

    A section may be absent (all defaults) or ``null`` when its dataclass is
    marked ``optional = True`` (the method then skips what it configures).
    The keys come in one order whatever the YAML wrote: the :data:`TOP_LEVEL`
    keys given, then every section as ``sections`` declares them.
    """
    unknown = [key for key in config if key not in sections and key not in TOP_LEVEL]
    if unknown:
        raise _unknown(source, unknown[0], [*sections, *TOP_LEVEL], "section")
    resolved = {key: config[key] for key in TOP_LEVEL if key in config}
    for name, section in sections.items():
        given = config.get(name, {})
        if given is None and getattr(section, "optional", False):
            resolved[name] = None
            continue
        if not isinstance(given, Mapping):
            raise ConfigError(
                source, f"section '{name}' is a {type(given).__name__}", "write key: value lines"
            )
        resolved[name] = _resolve_section(given, section, name, source)
    return resolved


def _resolve_section(given: Mapping[str, Any], section: type, name: str, source: str) -> dict:
    hints = typing.get_type_hints(section)
    known = [f.name for f in fields(section)]
    for key in given:
        if key not in known:
            raise _unknown(source, f"{name}.{key}", [f"{name}.{k}" for k in known], "key")
    values = {}
    for field in fields(section):
        if field.name in given:
            key = f"{name}.{field.name}"
            values[field.name] = _check(given[field.name], hints[field.name], key, source)
            _check_range(values[field.name], field.metadata, key, source)
        elif field.default is MISSING and field.default_factory is MISSING:
            raise ConfigError(source, f"'{name}.{field.name}' is missing", "set it in the config")
    return dataclasses.asdict(section(**values))


# -- ranges and choices: checked before anything runs --------------------------
def at_least(low: float, default: Any = MISSING, multiple_of: int | None = None) -> Any:
    """A number field that must be ``>= low`` (and a multiple of ``multiple_of``); None passes."""
    return dataclasses.field(default=default, metadata={"min": low, "multiple_of": multiple_of})


def above(low: float, default: Any = MISSING) -> Any:
    """A number field that must be ``> low``; None passes (an optional setting switched off)."""
    return dataclasses.field(default=default, metadata={"above": low})


def within(low: float, high: float, default: Any = MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"min": low, "max": high})


def one_of(default: Any, *choices: Any) -> Any:
    return dataclasses.field(default=default, metadata={"choices": (default, *choices)})


def _check_range(value: Any, rules: Mapping[str, Any], key: str, source: str) -> None:
    if value is None or not rules:
        return
    problem = None
    if "choices" in rules and value not in rules["choices"]:
        problem, fix = "not a known choice", "one of " + ", ".join(map(str, rules["choices"]))
    elif "min" in rules and value < rules["min"]:
        problem, fix = f"below {rules['min']}", f"a value >= {rules['min']}"
    elif "max" in rules and value > rules["max"]:
        problem, fix = f"above {rules['max']}", f"a value <= {rules['max']}"
    elif "above" in rules and value <= rules["above"]:
        problem, fix = f"not above {rules['above']}", f"a value > {rules['above']}"
    elif rules.get("multiple_of") and value % rules["multiple_of"]:
        step = rules["multiple_of"]
        problem, fix = f"not a multiple of {step}", f"a multiple of {step}"
    if problem:
        raise ConfigError(source, f"'{key}' is {value!r}, {problem}", f"set {key} to {fix}")


def _check(value: Any, hint: Any, key: str, source: str) -> Any:
    """``value`` if it fits ``hint`` (ints are accepted as floats), else a ConfigError."""
    if _fits(value, hint):
        return float(value) if hint is float and isinstance(value, int) else value
    raise ConfigError(
        source,
        f"'{key}' is {value!r}, which is not {_describe(hint)}",
        f"set {key} to {_describe(hint)}",
    )


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return isinstance(value, (list, tuple)) and all(_fits(v, item) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, Mapping)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin in (list, tuple):
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return f"a {getattr(hint, '__name__', str(hint))}"


def _unknown(source: str, key: str, known: list[str], kind: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return ConfigError(source, f"unknown {kind} '{key}'", f"{hint}known: {', '.join(known)}")


# -- sections several methods share ------------------------------------------
@dataclass
class TrainSection:
    """One training loop: Adam, layers outside the backbone ``head_lr_mult`` times faster."""

    steps: int = at_least(1)
    batch_size: int = at_least(1, 8)
    lr: float = above(0.0, 1e-4)
    head_lr_mult: float = above(0.0, 10.0)
    schedule: str = one_of("poly", "constant")  # poly (power 0.9) | constant
    weight_decay: float = at_least(0.0, 0.0)
    flip: bool = True  # horizontal flips, drawn from (seed, step)
    grad_clip: float | None = above(0.0, 10.0)  # global gradient norm; non-finite updates skipped


@dataclass
class BootstrapTrainSection(TrainSection):
    """A network fitting pseudo-labels with the bootstrapping loss (MWS Eq. 11, WSS's L_B)."""

    delta: float = within(0.0, 1.0, 0.95)  # target = delta * label + (1 - delta) * prediction
    hard: bool = True  # thresholded prediction (the codes'); false: soft bootstrapping


@dataclass
class SupervisedData:
    """Images with masks, and the held-out part of them that validates."""

    train: str = "DUTS-TR-50"  # a dataset root, relative to WEAKSAL_DATA
    train_split: str | None = "train"
    val_split: str | None = "val"  # null: no validation, the final model is kept
    val_limit: int = at_least(0, 0)  # validate on the first N val images (0: all)
    on_mismatch: str = one_of(
        "error", "skip"
    )  # a mask of another size than its image (skip: reported)


@dataclass
class SaliencyModelSection:
    """A saliency network: backbone, decoder (``paper`` or a multi-scale one) and input size."""

    backbone: str = "efficientnet_lite0"
    pretrained: str = "imagenet"  # imagenet | none | PATH
    input_size: int = at_least(32, 256, multiple_of=32)  # stride-32 encoders need a multiple
    freeze_bn: bool = True  # batches of 8 are too small to re-estimate backbone BN statistics
    decoder: str = "paper"  # paper | fpn | unet
    decoder_width: int = at_least(1, 64)


@dataclass
class EngineSection:
    """Devices, precision, processes, checkpoints, logs: what :class:`~weaksal.engine.trainer.Trainer` owns."""

    accelerator: str = one_of("auto", "cpu", "cuda", "gpu", "mps")
    devices: int = at_least(1, 1)  # processes/GPUs; under torchrun, the launcher's world size
    strategy: str = "auto"  # ddp for several processes
    # bf16-mixed / 16-mixed: autocast on GPUs, and bf16 speeds up CPUs with AVX512-BF16/AMX
    precision: str = one_of("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")
    channels_last: bool = False  # memory format of the networks and batches (faster on many CPUs)
    workers: int = at_least(0, 1)  # data-loading processes per training process
    checkpoint_every: int = at_least(1, 500)
    keep_checkpoints: int = at_least(1, 2)
    log_every: int = at_least(1, 20)
    val_every: int = at_least(0, 0)  # 0: validate only at the end
    deterministic: bool = False  # torch.use_deterministic_algorithms (exact resume on CUDA; slower)
