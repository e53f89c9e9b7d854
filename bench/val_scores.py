"""Scores of saliency models on the validation split (DUTS-TR-50 `val` rows): the numbers
that decide which model ships (benchmarks never do).

    python bench/val_scores.py wss runs/wss-fpn-lite0/final.safetensors [--out runs/val.json]

Each model (a shipped name or a model file) predicts the 449 val images at
its own input size; maps are scored against the val masks, both max-F
conventions (mean curve and pooled) beside MAE and S.
"""

from __future__ import annotations

import argparse
import json
import time

from weaksal.data.sources import split_samples
from weaksal.methods.evaluation import evaluate_model, headline
from weaksal.models import load_model
from weaksal.pretrained import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="shipped names or model files")
    parser.add_argument("--data", default="DUTS-TR-50")
    parser.add_argument("--out", help="also write the scores as JSON here")
    args = parser.parse_args()
    samples = split_samples(args.data, "val")
    table = {}
    for name in args.models:
        model, spec = load_model(resolve_model(name))
        start = time.perf_counter()
        results = evaluate_model(model, samples, int(spec["input_size"]))
        row = headline(results) | {"maxf_pooled": results["pooled"]["max"]}
        table[name] = row
        print(
            f"{name}: val ({len(samples)} images) max F {row['maxf']:.4f} (mean curve),"
            f" {row['maxf_pooled']:.4f} (pooled), MAE {row['mae']:.4f}, S {row['smeasure']:.4f}"
            f" [{time.perf_counter() - start:.0f} s]"
        )
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(table, handle, indent=1)


if __name__ == "__main__":
    main()
