"""The Examples sections of the classic, refine and metrics docstrings are doctests: they run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import weaksal.classic
import weaksal.metrics
import weaksal.refine

PACKAGES = (weaksal.classic, weaksal.metrics, weaksal.refine)
MODULES = [package.__name__ for package in PACKAGES] + sorted(
    info.name
    for package in PACKAGES
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
