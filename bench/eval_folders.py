"""End-to-end ``weaksal eval`` throughput on ECSSD files: 1 vs N worker processes.

Writes frequency-tuned maps of the 1000 ECSSD images to a temporary folder
once, then times reading + evaluating them (all metrics) per worker count.

    python bench/eval_folders.py [--workers 1,2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from weaksal.classic.ft import frequency_tuned
from weaksal.data import index_saliency, read_image
from weaksal.metrics import SaliencyEvaluator
from weaksal.metrics.runner import evaluate_saliency
from weaksal.plumbing.atomic import write_png
from weaksal.plumbing.paths import data_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args()
    dataset = data_root() / "ECSSD"
    with tempfile.TemporaryDirectory() as tmp:
        for sample in index_saliency(dataset):
            write_png(Path(tmp) / f"{sample.stem}.png", frequency_tuned(read_image(sample.image)))
        for workers in [int(w) for w in args.workers.split(",")]:
            start = time.perf_counter()
            run = evaluate_saliency("FT", Path(tmp), dataset, SaliencyEvaluator(), workers=workers)
            elapsed = time.perf_counter() - start
            print(
                f"workers {workers}: {len(run.names) / elapsed:6.1f} img/s (read + all metrics),"
                f" max F {run.results['maxf']:.4f}, MAE {run.results['mae']:.4f}"
            )


if __name__ == "__main__":
    main()
