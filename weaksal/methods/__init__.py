"""Training methods, each with its networks, losses, stages and defaults; run by name.

``METHODS[name].train(config, run_dir, resume)`` trains and returns the run's
summary; ``weaksal train NAME --config configs/...`` calls it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

METHODS = {
    "reference": "weaksal.methods.reference",
    "wss": "weaksal.methods.wss",
    "lps": "weaksal.methods.lps",
    "mws": "weaksal.methods.mws",
}


def get_method(name: str) -> ModuleType:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(METHODS)}")
    return importlib.import_module(METHODS[name])
