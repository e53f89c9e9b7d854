"""LPS models on the validation split: the numbers that decide which promoter ships.

Every prior's maps of the 449 DUTS-TR-50 `val` images (classical detectors,
and saliency models trained on the `train` split only) are scored as they
are, promoted by each LPS model without a gate and under the model's own
gate (where it has one): max F (mean curve) and MAE, and the share of maps
the gate left as they were. Benchmarks (ECSSD, SOD) are never read.

    python bench/lps_val.py runs/shipped-before/lps/model.safetensors \\
        runs/lps-fpn-lite0/final.safetensors --priors mr,wss \\
        --cache runs/lps-fpn-lite0/gate

``--cache`` is where the priors' val maps are (or will be) written; the gate
stage of an LPS run writes them there under the same names.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from weaksal.data.sources import split_samples
from weaksal.inference.promoter import Promoter
from weaksal.methods.lps.gate import calibrate
from weaksal.models import load_model
from weaksal.plumbing.atomic import write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="LPS model files")
    parser.add_argument("--priors", default="mr,wss", help="detectors or saliency models")
    parser.add_argument("--cache", type=Path, required=True, help="folder of the priors' maps")
    parser.add_argument("--data", default="DUTS-TR-50")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the scores as JSON here")
    args = parser.parse_args()
    samples = [s for s in split_samples(args.data, "val") if s.mask is not None]
    priors = args.priors.split(",")
    table = {}
    for model in args.models:
        network, spec = load_model(model)
        gate, floor = spec.get("gate"), spec.get("gate_floor") or 0.0
        start = time.perf_counter()
        promoter = Promoter(network, int(spec["input_size"]), 3)
        candidates = [] if gate is None else [gate]
        result = calibrate(
            promoter, samples, priors, candidates, args.cache, args.workers, floors=[floor]
        )
        table[model] = result | {"own_gate": gate, "own_gate_floor": floor}
        print(
            f"{model} (gate {gate} from prior certainty {floor}; {len(samples)} val images,"
            f" {time.perf_counter() - start:.0f} s)"
        )
        for prior in priors:
            before = result["priors"][prior]
            cells = [f"prior {before['maxf']:.4f} / {before['mae']:.4f}"]
            for name, by_prior in result["candidates"].items():
                scores = by_prior[prior]
                label = "no gate" if name == "None" else f"gate@floor {name}"
                cells.append(
                    f"{label} {scores['maxf']:.4f} / {scores['mae']:.4f}"
                    f" (kept {100 * scores['kept']:.0f}%)"
                )
            print(f"  {prior}: " + " | ".join(cells))
    if args.out:
        write_json(args.out, table)


if __name__ == "__main__":
    main()
