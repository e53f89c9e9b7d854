"""The installed ``weaksal`` script ends on SIGTERM as ``python -m weaksal`` does, and a rerun
clears a killed writer's temporaries at once (issue 32, item 5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(sys.executable).with_name("weaksal")
pytestmark = pytest.mark.skipif(
    not SCRIPT.is_file() or not sys.platform.startswith("linux"),
    reason="needs the installed weaksal script (make test installs it) on Linux",
)


def _images(folder: Path, count: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
        Image.fromarray(small).resize((240, 180), Image.BICUBIC).save(folder / f"im{i:03d}.png")
    return folder


def _classic(images: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(SCRIPT), "classic", "mr", "--images", str(images), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_sigterm_to_the_installed_script_ends_it_cleanly_with_a_message(tmp_path):
    images, out = _images(tmp_path / "images", 80), tmp_path / "out"
    process = _classic(images, out)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output  # not 143 with no word
    assert "interrupted" in output and "run the same command again" in output
    assert not list(out.glob(".*.part")), "a half-written temporary was left behind"
    written = sorted(out.glob("*.png"))
    assert 3 <= len(written) < 80
    for png in written:  # every map left is complete
        assert np.asarray(Image.open(png)).shape == (180, 240)


def test_a_rerun_removes_a_dead_writers_temporary_at_once(tmp_path):
    images, out = _images(tmp_path / "images", 2), tmp_path / "out"
    first = _classic(images, out)
    assert first.wait(timeout=120) == 0
    dead = subprocess.Popen(["true"])  # a process id that no longer runs
    dead.wait()
    left = out / f".im000.png.{dead.pid}-x1y2z3.part"  # as a killed writer leaves it, just now
    left.write_bytes(b"half a png")
    alive = out / f".im001.png.{os.getpid()}-a1b2c3.part"  # a live writer's: not ours to remove
    alive.write_bytes(b"being written")
    again = _classic(images, out)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert not left.exists(), "the dead writer's temporary outlived the rerun"
    assert alive.exists()
