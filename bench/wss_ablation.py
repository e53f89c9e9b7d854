"""WSS ablation on ECSSD and SOD (the paper's Tables 2-3 on this data).

Rows: MR; the fully-supervised reference model; FIN1 (the stage-1 foreground
map, upsampled) with GSP, GAP and GMP; WSS1 (FIN1 + the iterative CRF); FIN1
+ a plain dense CRF instead; the self-trained FCN after rounds 1 and 2. Maps
are written once under ``<run>/ablation/<row>/<set>/`` (re-runs keep them) and
scored in both max-F conventions. The GAP/GMP rows need their own stage-1
training (``--train-pooling`` trains the missing ones with the run's config,
about 20 min each on 2 CPU cores).

    python bench/wss_ablation.py --run runs/wss-lite0 --reference runs/reference-snet-lite0/best.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import HEADER, row, score

from weaksal.classic.files import write_detector_maps
from weaksal.data.discover import open_dataset
from weaksal.data.sources import dataset_path
from weaksal.engine.config import load_config
from weaksal.engine.schema import resolve_config
from weaksal.inference.runtimes import TorchRuntime
from weaksal.methods import pseudo_labels
from weaksal.methods.wss import pipeline as wss
from weaksal.methods.wss.config import SECTIONS
from weaksal.models import load_model
from weaksal.plumbing.batch import Job, run_batch
from weaksal.refine.refiners import accepted_options, refine_file

SETS = ("ECSSD", "SOD")


def network_maps(runtime, size: int, folder: Path, name: str) -> None:
    pseudo_labels.write_coarse_maps(
        runtime, [size], open_dataset(dataset_path(name)).samples, folder
    )


def refined_maps(
    method: str, threshold: float, coarse: Path, folder: Path, name: str, workers: int
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    samples = open_dataset(dataset_path(name)).samples
    options = accepted_options(method, threshold=threshold)
    jobs = [
        Job(
            s.stem,
            folder / f"{s.stem}.png",
            (method, "binary", options, s.image, (coarse / f"{s.stem}.png",)),
        )
        for s in samples
    ]
    run_batch(refine_file, jobs, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--train-pooling", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.run / "stage1" / "config.yaml")
    size = int(config["model"]["input_size"])
    out = args.run / "ablation"
    device = torch.device("cpu")
    rows: dict[str, Path] = {}
    for name in SETS:
        samples = open_dataset(dataset_path(name)).samples
        write_detector_maps("mr", samples, out / "MR" / name, args.workers)
    rows["MR"] = out / "MR"
    if args.reference:
        runtime = TorchRuntime(load_model(args.reference)[0])
        for name in SETS:
            network_maps(runtime, size, out / "reference" / name, name)
        rows["fully supervised reference"] = out / "reference"
    for pooling in ("gsp", "gap", "gmp"):
        stage1 = (
            args.run
            if pooling == config["model"].get("pooling", "gsp")
            else args.run.with_name(f"{args.run.name}-{pooling}")
        ) / "stage1"
        if not (stage1 / "stage1.safetensors").exists():
            if not args.train_pooling:
                continue
            variant = resolve_config(
                load_config(
                    Path("configs/wss/wss_efficientnet_lite0.yaml"),
                    [f"model.pooling={pooling}"],
                    SECTIONS,
                ),
                SECTIONS,
            )
            wss.train_stage1(variant, stage1, resume=True)
        runtime = TorchRuntime(load_model(stage1 / "stage1.safetensors")[0], device)
        for name in SETS:
            network_maps(runtime, size, out / f"FIN1-{pooling}" / name, name)
        rows[f"FIN1 ({pooling.upper()})"] = out / f"FIN1-{pooling}"
    gsp = out / "FIN1-gsp"
    threshold = float(config["labels"]["threshold_round1"])
    for method, label in (
        ("itercrf", "WSS1 (FIN1 + iterative CRF)"),
        ("densecrf", "FIN1 + dense CRF"),
    ):
        for name in SETS:
            refined_maps(method, threshold, gsp / name, out / method / name, name, args.workers)
        rows[label] = out / method
    for index in (1, 2):
        model_file = args.run / f"round{index}" / "fcn.safetensors"
        if model_file.exists():
            runtime = TorchRuntime(load_model(model_file)[0])
            for name in SETS:
                network_maps(runtime, size, out / f"round{index}" / name, name)
            rows[f"WSS, self-training round {index}"] = out / f"round{index}"
    for name in SETS:
        print(f"\n{name}\n| row {HEADER}")
        print("|---" * 8 + "|")
        for label, folder in rows.items():
            print(row([label], score(folder / name, name)))


if __name__ == "__main__":
    main()
