"""One shape for every table of named things: backbones, decoders, models, detectors, refiners, methods.

A :class:`Registry` maps a name to an :class:`Entry`: the object (a class or a
function) and what callers need to know about it without building it (a
reference, defaults, the task a model serves...). Entries are registered where
they are defined, with a decorator, so adding a backbone, a network family, a
detector or a method is one new file: a registry created with ``discover=``
imports every public module of that package the first time it is asked for a
name (``timm``'s ``register_model`` does the same for its model files).

>>> DETECTORS = Registry("detector")
>>> @DETECTORS.register("ft", reference="Achanta et al., CVPR 2009")
... def frequency_tuned(image): ...
>>> DETECTORS.get("ft").reference
'Achanta et al., CVPR 2009'
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """A registered object and its description; ``info`` keys read as attributes."""

    name: str
    target: Any
    info: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["info"][key]
        except KeyError:
            raise AttributeError(f"{self.name!r} has no {key!r}") from None


class Registry:
    """Named entries of one kind (``"backbone"``, ``"model"``...), filled by :meth:`register`."""

    def __init__(self, kind: str, discover: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._discover = discover
        self._discovered = discover is None

    def register(self, name: str, **info: Any) -> Callable[[Any], Any]:
        """Decorator: register the decorated class or function under ``name``."""

        def decorate(target: Any) -> Any:
            self.add(name, target, **info)
            return target

        return decorate

    def add(self, name: str, target: Any, **info: Any) -> Entry:
        existing = self._entries.get(name)
        if existing is not None and existing.target is not target:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        entry = Entry(name, target, info)
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> Entry:
        """The entry of ``name``; an unknown name raises ``ValueError`` listing the choices."""
        self._load()
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self)}")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self]

    def _load(self) -> None:
        """Import every public module of the ``discover`` package once (their decorators register)."""
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self._discover)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self._discover}.{module.name}")
