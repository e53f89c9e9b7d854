"""Quality of the unsupervised detectors on the full ECSSD and SOD sets, against
the values published in the seed papers' tables (pooled max-F convention of the
MATLAB toolbox, and MAE; RBD's published ECSSD value is an adaptive-threshold F).

    python bench/classic_eval.py [--methods mr,mbplus,rbd] [--datasets ECSSD,SOD] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from weaksal.classic.files import detect_file
from weaksal.data import index_saliency
from weaksal.metrics import SaliencyEvaluator
from weaksal.metrics.runner import evaluate_saliency
from weaksal.plumbing.batch import Job, run_batch
from weaksal.plumbing.paths import data_root

PUBLISHED = {  # (dataset, method): {metric: value}
    ("ECSSD", "mr"): {"maxf": 0.742, "mae": 0.186},
    ("SOD", "mr"): {"maxf": 0.644, "mae": 0.261},
    ("ECSSD", "mbplus"): {"maxf": 0.736, "mae": 0.193},
    ("SOD", "mbplus"): {"maxf": 0.658, "mae": 0.255},
    ("ECSSD", "rbd"): {"adpf": 0.676, "mae": 0.171},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="mr,mbplus,rbd")
    parser.add_argument("--datasets", default="ECSSD,SOD")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        "| dataset | method | max F (pooled, 256) | max F (pooled, 21) | adaptive F | MAE | published | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets.split(","):
            root = data_root() / dataset
            for method in args.methods.split(","):
                out = Path(tmp) / dataset / method
                jobs = [
                    Job(s.stem, out / f"{s.stem}.png", (method, s.image))
                    for s in index_saliency(root)
                ]
                start = time.perf_counter()
                report = run_batch(detect_file, jobs, workers=args.workers)
                elapsed = time.perf_counter() - start
                if report.failed:
                    raise SystemExit(f"{method} failed on {report.failed[:3]}")
                runs = {
                    thresholds: evaluate_saliency(
                        method, out, root, SaliencyEvaluator(maxf="pooled", thresholds=thresholds)
                    ).results
                    for thresholds in (256, 21)
                }
                published = ", ".join(
                    f"{k} {v:.3f}" for k, v in PUBLISHED.get((dataset, method), {}).items()
                )
                print(
                    f"| {dataset} | {method} | {runs[256]['maxf']:.3f} | {runs[21]['maxf']:.3f} |"
                    f" {runs[256]['fmeasure']['adaptive']:.3f} | {runs[256]['mae']:.3f} | {published or '-'} |"
                    f" {elapsed:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
