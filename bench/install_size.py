"""Install size of `pip install .[eval]` in a fresh venv, and proof that it evaluates a folder.

    python bench/install_size.py [--extra eval]

Creates a venv in a temporary folder, measures it empty, installs this
checkout with the extra (through constraints.txt), measures again, lists the
largest installed packages, then runs `weaksal eval` on a generated
two-image set with that venv's own `weaksal` (no torch in it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra", default="eval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        empty = size(venv)
        start = time.perf_counter()
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-c", str(REPO / "constraints.txt"),
             f"{REPO}[{args.extra}]"],
            check=True, cwd=folder, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        full = size(venv)
        site = next((venv / "lib").glob("python*/site-packages"))
        largest = sorted(((size(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)
        data = Path(folder) / "set"
        for folder_name in ("images", "GT", "maps"):
            (data / folder_name).mkdir(parents=True)
        mask = np.zeros((20, 30), np.uint8)
        mask[5:15, 10:20] = 255
        for stem in ("a", "b"):
            Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(data / "images" / f"{stem}.jpg")
            Image.fromarray(mask).save(data / "GT" / f"{stem}.png")
            Image.fromarray(mask).save(data / "maps" / f"{stem}.png")
        result = subprocess.run(
            [str(venv / "bin" / "weaksal"), "eval", "--pred", str(data / "maps"), "--gt",
             str(data), "--out", str(Path(folder) / "report")],
            capture_output=True, text=True,
        )  # fmt: skip
        torch_installed = any(name == "torch" for _, name in largest)
    print(f"extra: {args.extra}; install {seconds:.0f} s")
    print(f"fresh venv {empty / 2**20:.0f} MB, after install {full / 2**20:.0f} MB,"
          f" added {(full - empty) / 2**20:.0f} MB")  # fmt: skip
    print("largest: " + ", ".join(f"{name} {b / 2**20:.0f} MB" for b, name in largest[:10]))
    print(f"torch installed: {torch_installed}; weaksal eval exit status {result.returncode}")
    if result.returncode:
        print(result.stdout[-2000:], result.stderr[-2000:])


if __name__ == "__main__":
    main()
