"""Python calls that start worker processes work from a plain script, one without
``if __name__ == "__main__":`` (issue 33): the workers never run the script again."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

SCRIPT = """
import pathlib
import weaksal

here = pathlib.Path(__file__).parent
runs = here / "runs.txt"
runs.write_text((runs.read_text() if runs.exists() else "") + "ran\\n")
report = weaksal.classic_folder("ft", here / "photos", here / "maps", workers=2)
checked = weaksal.check(str(here / "data"), workers=2)
print("maps", len(report.done), "problems", checked.problems)
"""


def test_a_plain_script_may_start_worker_pools(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(
            tmp_path / "photos" / f"p{i}.png"
        )
    for folder in ("images", "masks"):
        (tmp_path / "data" / folder).mkdir(parents=True)
    for i in range(60):  # more than the 50 samples from which check uses its workers
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
            tmp_path / "data" / "images" / f"s{i}.jpg"
        )
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(
            tmp_path / "data" / "masks" / f"s{i}.png"
        )
    (tmp_path / "script.py").write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "maps 4 problems 0" in done.stdout
    assert (tmp_path / "runs.txt").read_text() == "ran\n"  # the script ran once, not per worker
    assert len(list((tmp_path / "maps").glob("*.png"))) == 4
