"""YAML training configs, command-line overrides, and the record of each run.

A run folder holds the resolved config (``config.yaml``) and how it was run
(``run.json``: code revision, library versions, machine, seed), so any result
can be traced back and reproduced, and a resumed run cannot silently continue
with a different config.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import json
import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

import weaksal
from weaksal.plumbing.atomic import write_json, write_text
from weaksal.plumbing.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that also reads ``1e-4`` as a float.

    YAML 1.1 wants a dot and a signed exponent (``1.0e-4``), so plain PyYAML
    reads the way everyone writes learning rates as a string.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


#: the configs that ship inside the package (``configs/`` in a checkout links here)
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def config_names() -> list[str]:
    """Every shipped config, as ``method/name`` (what ``--config`` accepts, ``.yaml`` optional)."""
    return sorted(
        str(path.relative_to(CONFIG_DIR).with_suffix(""))
        for path in CONFIG_DIR.rglob("*.yaml")
        if path.parent.name != "base"
    )


def find_config(name: str | Path, defaults: Mapping[str, str] | None = None) -> Path:
    """A config file from a path or a shipped config's name.

    In order: an existing file; ``configs/<name>`` or ``configs/<name>.yaml``
    inside the package (``wss/wss_fpn_efficientnet_lite0``); a key of
    ``defaults`` (a method's name -> its default config under ``configs/``,
    given by the method registry: :func:`weaksal.methods.method_config`); a
    unique file stem (``wss_fpn_efficientnet_lite0``).
    """
    defaults = defaults or {}
    path = Path(name)
    if path.is_file():
        return path
    text = str(name)
    for candidate in (CONFIG_DIR / text, CONFIG_DIR / f"{text}.yaml"):
        if candidate.is_file():
            return candidate
    if text in defaults:
        return CONFIG_DIR / defaults[text]
    stems = [p for p in CONFIG_DIR.rglob(f"{Path(text).stem}.yaml") if p.parent.name != "base"]
    if len(stems) == 1 and path.suffix in ("", ".yaml"):
        return stems[0]
    methods = f"a method ({', '.join(defaults)}) or " if defaults else ""
    raise ConfigError(
        f"{name}: no such config file or shipped config. Fix: give a YAML file,"
        f" {methods}one of: {', '.join(config_names())}"
    )


def load_config(
    path: str | Path, overrides: Sequence[str] = (), sections: Mapping[str, type] | None = None
) -> dict:
    """Read a YAML config, merge its ``base`` chain underneath, apply ``key=value`` overrides.

    An override may set any key of the config and, given the method's typed
    ``sections``, any key they declare that the YAML leaves to its default
    (the YAMLs hold only what differs from the defaults); other keys need ``+``.
    """
    path = Path(path)
    config = _read_with_bases(path, ())
    known = _with_defaults(config, sections) if overrides and sections else config
    for override in overrides:
        _apply_override(config, override, path, known)
    return config


def _with_defaults(config: dict, sections: Mapping[str, type]) -> dict:
    """``config`` with its sections' defaults filled in (as is when it does not resolve yet):
    the keys an override may set."""
    from weaksal.engine.schema import resolve_config

    try:
        return resolve_config(config, sections)
    except ConfigError:
        return config


def dump_config(config: Mapping[str, Any]) -> str:
    """YAML text of ``config``, keys in the order they were written."""
    return yaml.safe_dump(
        dict(config), sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def _read_with_bases(path: Path, chain: tuple[Path, ...]) -> dict:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ConfigError(path, f"'base' files include each other ({cycle})", "break the cycle")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "config file not found", "check the path") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read config ({exc})", "check the path") from None
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML ({exc})", "fix the YAML syntax there") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            path, f"top level is a {type(data).__name__}, not a mapping", "write 'key: value' lines"
        )
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(path, "'base' must be one file name", "write 'base: other.yaml'")
    return _deep_merge(_read_with_bases(path.parent / base, (*chain, resolved)), data)


def _deep_merge(base: dict, child: Mapping[str, Any]) -> dict:
    """``child`` on top of ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _dotted_keys(config: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from _dotted_keys(value, dotted + ".")


_ABSENT = object()


def _apply_override(config: dict, override: str, path: Path, known: Mapping[str, Any]) -> None:
    key, sep, raw = override.partition("=")
    add = key.startswith("+")
    key = key.removeprefix("+").strip()
    if not sep or not key:
        raise ConfigError(
            path, f"override {override!r} is not 'key=value'", "write e.g. train.lr=1e-4"
        )
    try:
        value = _parse_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(
            path, f"value of override {override!r} is not valid YAML ({exc})", "quote or fix it"
        ) from None
    parts = key.split(".")
    node, default = config, known  # ``known``: ``config`` with the keys left to defaults
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        default = default.get(part, _ABSENT) if isinstance(default, Mapping) else _ABSENT
        if part not in node and default is _ABSENT:
            if not add:
                raise _unknown_key(known, key, override, path)
            if last:
                break
            node[part] = {}
        elif not last and not isinstance(node.get(part, default), Mapping):
            raise ConfigError(
                path,
                f"override {override!r} goes inside '{here}', which is a value, not a section",
                "check the key against the config",
            )
        if not last:
            node = node.setdefault(part, {})
    replaced = node.get(parts[-1], default)
    if isinstance(replaced, Mapping) and not isinstance(value, Mapping) and value is not None:
        # a section becomes a mapping, or null (an optional section switched off), never a value
        raise ConfigError(
            path,
            f"override {override!r} replaces the section '{key}' with a single value",
            f"set one of its keys instead ({', '.join(f'{key}.{k}' for k in replaced)})",
        )
    node[parts[-1]] = value


def _unknown_key(config: dict, key: str, override: str, path: Path) -> ConfigError:
    close = difflib.get_close_matches(key, list(_dotted_keys(config)), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return ConfigError(
        path,
        f"override {override!r} sets '{key}', which is not in the config",
        f"{hint}To add a new key on purpose, prefix it with '+': +{override.removeprefix('+')}",
    )


def run_record(seed: int, argv: Sequence[str] | None = None) -> dict:
    """How this run was started: code revision, versions, machine, command line, seed."""
    import torch

    return {
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "argv": list(sys.argv if argv is None else argv),
        "git": git_state(Path(weaksal.__file__).parent),
        "versions": _versions(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else [],
    }


def git_state(directory: Path) -> dict | None:
    """``{"revision", "dirty"}`` of the checkout holding ``directory``; None outside git."""
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"revision": revision, "dirty": bool(status.strip())}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "weaksal": weaksal.__version__}
    for dist in ("torch", "numpy", "lightning", "onnxruntime"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def write_run_files(
    out_dir: str | Path,
    config: Mapping[str, Any],
    seed: int,
    argv: Sequence[str] | None = None,
) -> None:
    """Write ``config.yaml`` and ``run.json`` to a new run folder, or check and log a resume."""
    out_dir = Path(out_dir)
    config_path = out_dir / "config.yaml"
    run_path = out_dir / "run.json"
    text = dump_config(config)
    record = run_record(seed, argv)
    if not config_path.exists():
        write_text(config_path, text)
        write_json(run_path, record)
        return
    try:
        previous = _parse_yaml(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            config_path, f"cannot read the config of the existing run ({exc})", "pass a new --out"
        ) from None
    differences = _differences(previous, _parse_yaml(text))
    if differences:
        raise ConfigError(
            config_path,
            "this run folder belongs to a run with another config (differs at "
            + "; ".join(differences)
            + ")",
            "pass a new --out to start a new run, or the same config to resume this one",
        )
    history: dict = {}
    if run_path.exists():
        try:
            history = json.loads(run_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                run_path, f"cannot read the record of the existing run ({exc})", "pass a new --out"
            ) from None
    if not history:
        history = record
    else:
        history.setdefault("resumes", []).append(record)
    write_json(run_path, history)


def _differences(old: Any, new: Any, prefix: str = "", limit: int = 5) -> list[str]:
    """The first ``limit`` dotted keys whose values differ, as 'key: old -> new'."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[str] = []
        for key in [*old, *(k for k in new if k not in old)]:
            missing = "(absent)"
            found += _differences(
                old.get(key, missing), new.get(key, missing), f"{prefix}{key}.", limit - len(found)
            )
            if len(found) >= limit:
                break
        return found
    if old == new and type(old) is type(new):
        return []
    return [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]
