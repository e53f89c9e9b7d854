"""MWS's later-round labels: which refiner turns SNet's map into the next round's label.

Round I's label is the attention maps' mean refined by the dense CRF (the
paper's). Later rounds (ours: the paper trains SNet once) refine SNet's own
map, which is already sharp; the dense CRF's pairwise terms can then erode
it rather than repair it. Each candidate refiner makes labels for the
held-out ``val`` images from one SNet model (their masks score, never
train); the chosen refiner goes into the config (``labels.refine_later``).

    python bench/mws_later_labels.py --model runs/mws-fpn-lite0/snet/best.safetensors --out runs/mws-later-labels
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import label_quality_table

from weaksal.data.sources import split_samples
from weaksal.inference.runtimes import TorchRuntime
from weaksal.methods.pseudo_labels import make_labels
from weaksal.models import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an SNet model file")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dataset", default="DUTS-TR-50")
    parser.add_argument("--refiners", default="densecrf,itercrf,threshold")
    parser.add_argument("--threshold", type=float, default=0.5, help="labels.threshold_later")
    parser.add_argument("--size", type=int, default=256, help="model.input_size")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    runtime = TorchRuntime(load_model(args.model)[0])
    samples = split_samples(args.dataset, "val")
    rows = {}
    for refiner in args.refiners.split(","):
        summary = make_labels(
            runtime, args.size, samples, args.out / refiner, refiner, args.threshold, args.workers
        )
        rows[refiner] = summary["quality"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "refiners.json").write_text(json.dumps(rows, indent=1))
    print(label_quality_table(rows, "refiner"))


if __name__ == "__main__":
    main()
