"""Faults: worker processes die with their parent; SIGTERM ends a run cleanly (issue 15, defect 7)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_classic(tmp_path: Path, count: int = 120) -> tuple[subprocess.Popen, Path]:
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):  # smooth blobs: superpixels and ranking have work to do
        small = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
        Image.fromarray(small).resize((200, 160), Image.BICUBIC).save(images / f"im{i:03d}.png")
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "weaksal", "classic", "mr", "--images", str(images),
         "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_dir() and len(list(out.glob("*.png"))) >= 2):
        time.sleep(0.2)
    assert out.is_dir(), "the run never started writing"
    return process, out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_their_parent_is_killed(tmp_path):
    process, out = _start_classic(tmp_path)
    workers = [pid for pid in _children(process.pid) if _alive(pid)]
    assert workers, "no worker processes found"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    written = len(list(out.glob("*.png")))
    time.sleep(1.5)
    assert len(list(out.glob("*.png"))) == written  # nobody writes after the parent is gone


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_ends_the_run_cleanly_and_it_resumes(tmp_path):
    process, out = _start_classic(tmp_path)
    workers = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)
    assert not list(out.glob(".*.part"))  # a terminated worker's temporary is removed or stale
    done = len(list(out.glob("*.png")))
    assert 0 < done < 120
    resumed = subprocess.run(
        [sys.executable, "-m", "weaksal", "classic", "mr", "--images", str(tmp_path / "images"),
         "--out", str(out), "--workers", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{120 - done} written, {done} kept" in resumed.stdout


WRITER = """
import sys, time
from pathlib import Path
from weaksal.plumbing.atomic import atomic_path
from weaksal.plumbing.parallel import _one_thread
_one_thread()  # what every pool worker runs first
with atomic_path(Path(sys.argv[1]) / "map.png") as tmp:
    tmp.write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_worker_stopped_by_sigterm_removes_its_temporary(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.glob(".map.png.*.part"))) == 1  # mid-write: the temporary exists
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []  # neither the temporary nor a half map
