"""The wheel: what it holds, and that weaksal works installed from it, away from the checkout.

The wheel is built from a copy of the checkout (so a stale ``build/`` cannot
hide a missing file) with ``pip wheel --no-build-isolation`` (no download:
setuptools comes from the test venv, where torch needs it; an isolated build
when it is missing or too old). It is installed with ``--no-deps`` into
a fresh venv whose only view of the dependencies (torch and the rest) is a
``.pth`` line naming the test venv's site-packages: a plain path, so the
``.pth`` files there, the editable install of weaksal among them, are not
run, and ``import weaksal`` can only find the wheel's copy.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
NAMED = [
    "weaksal/__init__.py",
    "weaksal/serve_page.html",
    *(
        f"weaksal/{package}/__init__.py"
        for package in ("api", "cli", "data", "data/kinds", "inference", "plumbing", "methods")
    ),
    *(
        f"weaksal/methods/{name}/__init__.py"
        for name in ("wss", "lps", "mws", "ssnet", "jsm", "reference")
    ),
    *(f"weaksal/pretrained/{name}/model.safetensors" for name in ("wss", "lps", "mws", "ssnet")),
    "weaksal/pretrained/mws/pnet.safetensors",
    "weaksal/pretrained/jsm/model.safetensors",
    "weaksal/pretrained/wss/manifest.json",
    "weaksal/pretrained/wss/config.yaml",
    "weaksal/pretrained/wss/README.md",
    "weaksal/pretrained/wss/logs/stage1.jsonl",
    "weaksal/configs/wss/wss_efficientnet_lite0.yaml",
    "weaksal/configs/smoke/wss.yaml",
]
# every source file of these kinds under weaksal/ must ship
SHIPPED_SUFFIXES = {".py", ".safetensors", ".json", ".jsonl", ".md", ".yaml", ".html"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or n.endswith((".egg-info", ".pyc"))}


def _setuptools_builds() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (77, 0)


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_wheel_holds_the_package_and_runs_installed(tmp_path):
    # a clean source tree (the checkout's top-level files, weaksal/ and tests/), with a planted
    # runs/: tests/ and runs/ must stay out of the wheel
    source = tmp_path / "source"
    for folder in ("weaksal", "tests"):
        shutil.copytree(REPO / folder, source / folder, ignore=_ignore)
    for path in REPO.iterdir():
        if path.is_file():
            shutil.copy2(path, source / path.name)
    (source / "runs" / "planted").mkdir(parents=True)
    (source / "runs" / "planted" / "final.safetensors").write_bytes(b"not shipped")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PIP_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    dist = tmp_path / "dist"
    # offline with the test venv's setuptools (torch requires it) when it is new enough for
    # pyproject.toml's build-system; else pip fetches one into an isolated build (CI has PyPI)
    offline = ["--no-build-isolation", "--no-index"] if _setuptools_builds() else []
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "-q", "-w", str(dist), "."],
        cwd=source,
        env=env,
    )
    (wheel,) = dist.glob("weaksal-*-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    missing = [n for n in NAMED if n not in names]
    assert not missing, f"not in the wheel: {missing}"
    expected = {
        p.relative_to(source).as_posix()
        for p in (source / "weaksal").rglob("*")
        if p.is_file() and p.suffix in SHIPPED_SUFFIXES and "__pycache__" not in p.parts
    }
    assert not expected - names, f"not in the wheel: {sorted(expected - names)}"
    assert {n.split("/")[0] for n in names} == {
        "weaksal",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert not [n for n in names if "/tests/" in f"/{n}" or "/runs/" in f"/{n}"]
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]

    # a fresh venv; the dependencies are seen through one plain .pth line per site folder
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env)
    python = venv / "bin" / "python"
    new_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=env,
        ).stdout.strip()
    )
    ours = [
        *site.getsitepackages(),
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    ]
    ours = [p for p in dict.fromkeys(ours) if Path(p).is_dir() and Path(p).resolve() != REPO]
    (new_site / "test-venv-deps.pth").write_text("\n".join(ours) + "\n")
    _run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed"]
        + [str(wheel)],
        env=env,
    )

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = _run(
        [
            str(python),
            "-c",
            "import weaksal, weaksal.pretrained as p;"
            " print(weaksal.__file__); print(p.pretrained_dir('wss'));"
            " print(','.join(p.shipped_names()))",
        ],
        cwd=outside,
        env=env,
    ).stdout.split()
    # weaksal and its shipped models (the default, WSS, first) come from the new venv
    assert Path(where[0]).is_relative_to(new_site), where
    assert Path(where[1]).is_relative_to(new_site), where
    assert where[2].split(",")[0] == "wss", where
    assert {"lps", "mws", "ssnet", "jsm"} <= set(where[2].split(",")), where

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)
    photo[30:60, 40:90] = (250, 30, 30)
    Image.fromarray(photo).save(outside / "photo.png")
    command = venv / "bin" / "weaksal"
    assert str(python) in command.read_text()[:500], command.read_text()[:500]
    for out, model in (("mr_maps", ["--model", "mr"]), ("wss_maps", [])):
        _run([str(command), "predict", "photo.png", *model, "--out", out], cwd=outside, env=env)
        with Image.open(outside / out / "photo.png") as saliency:
            assert saliency.size == (130, 90)
