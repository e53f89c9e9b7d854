"""WSS round-I labels from several views of the stage-1 map, scored on the val split.

The FIN map of one 256x256 view fires on the most discriminative part of
the object. Averaging it over input sizes and mirror images is the usual
remedy for class-activation maps; whether it gives better labels here is
measured on the held-out ``val`` images (their masks score, never train),
the same iterative CRF turning each averaged map into a binary label. The
chosen views go into the config (``labels.sizes``, ``labels.flip``).

    python bench/wss_label_views.py --stage1 runs/wss-fpn-lite0/stage1/stage1.safetensors --out runs/wss-label-views
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

VIEWS = {  # name: (input sizes, mirror images too)
    "256": ([256], False),
    "256 + flip": ([256], True),
    "224, 256, 320": ([224, 256, 320], False),
    "224, 256, 320 + flip": ([224, 256, 320], True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage1", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dataset", default="DUTS-TR-50")
    parser.add_argument("--threshold", type=float, default=0.65, help="labels.threshold_round1")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    runtime = TorchRuntime(load_model(args.stage1)[0])
    samples = split_samples(args.dataset, "val")
    rows = {}
    for name, (sizes, flip) in VIEWS.items():
        folder = args.out / name.replace(", ", "-").replace(" + ", "+")
        summary = make_labels(
            runtime, sizes, samples, folder, "itercrf", args.threshold, args.workers, flip
        )
        rows[name] = summary["quality"]
    (args.out / "views.json").write_text(json.dumps(rows, indent=1))
    print(label_quality_table(rows, "views"))


if __name__ == "__main__":
    main()
