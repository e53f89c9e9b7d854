"""LPS on ECSSD and SOD: every prior before and after promotion, conv vs FC, and F/MAE over T.

Priors: the classical detectors MR, MB+, RBD and FT, the shipped WSS model
and (``--reference``) the fully-supervised reference model. Each is promoted
by the LPS model of ``--run`` with ``--iters`` iterations (default 3, the
released code's); ``--compare`` promotes the same priors with another LPS
model (the FC region embedding). The iteration curve runs T = 0..10 for MR.
Maps are cached under ``<run>/bench/`` (re-runs keep them); the tables go to
``<run>/eval.json`` and the curve to ``--figure``.

    python bench/lps_promote.py --run runs/lps-lite0 --compare runs/lps-fc-lite0 \\
        --reference runs/reference-snet-lite0/best.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import HEADER, row, score, scores_of

from weaksal.api.promote import Promoter, promote_folder
from weaksal.classic.files import write_detector_maps
from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_image, read_mask
from weaksal.data.sources import dataset_path
from weaksal.inference.runtimes import TorchRuntime
from weaksal.methods import pseudo_labels
from weaksal.metrics.evaluator import SaliencyEvaluator
from weaksal.models import load_model
from weaksal.plumbing.atomic import write_json
from weaksal.pretrained import resolve_model

SETS = ("ECSSD", "SOD")
CLASSIC = {"MR": "mr", "MB+": "mbplus", "RBD": "rbd", "FT": "ft"}


def prior_folders(out: Path, reference: Path | None, workers: int) -> dict[str, Path]:
    """``{prior name: folder}`` with ``folder/<set>/<stem>.png`` written for every set."""
    folders = {}
    for label, detector in CLASSIC.items():
        for name in SETS:
            samples = open_dataset(dataset_path(name)).samples
            write_detector_maps(detector, samples, out / detector / name, workers)
        folders[label] = out / detector
    networks = {"WSS (shipped)": ("wss", resolve_model("wss"))}
    if reference:
        networks["fully supervised reference"] = ("reference", reference)
    for label, (key, model_file) in networks.items():
        model, spec = load_model(model_file)
        for name in SETS:
            samples = open_dataset(dataset_path(name)).samples
            pseudo_labels.write_coarse_maps(
                TorchRuntime(model), [spec["input_size"]], samples, out / key / name
            )
        folders[label] = out / key
    return folders


def iteration_curve(promoter: Promoter, priors: Path, name: str, top: int) -> list[dict]:
    """Scores of ``Y(t)`` for ``t = 1..top`` (``Y(0)``, the prior, is scored separately)."""
    promoter.iterations = top
    evaluators = [SaliencyEvaluator() for _ in range(top)]
    for sample in open_dataset(dataset_path(name)).samples:
        history: list[list[np.ndarray]] = []
        promoter.maps(
            [read_image(sample.image)], [read_mask(priors / f"{sample.stem}.png")], history
        )
        mask = read_mask(sample.mask)
        for evaluator, maps in zip(evaluators, history[1:], strict=True):
            evaluator.step(np.round(maps[0] * 255).astype(np.uint8), mask, sample.stem)
    return [scores_of(e.results()) for e in evaluators]


def plot_curve(curves: dict[str, list[dict]], figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, points in curves.items():
        steps = range(len(points))
        axes[0].plot(steps, [p["maxF"] for p in points], marker="o", label=name)
        axes[1].plot(steps, [p["MAE"] for p in points], marker="o", label=name)
    for axis, title in zip(axes, ("max F (mean curve)", "MAE"), strict=True):
        axis.set_xlabel("iterations T")
        axis.set_title(f"LPS on MR maps: {title}")
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="second LPS run (e.g. FC region embedding)")
    parser.add_argument("--reference", type=Path, help="fully-supervised reference model file")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--curve", type=int, default=10, help="largest T of the curve (0: none)")
    parser.add_argument("--figure", type=Path, default=Path("bench/figures/lps_iterations.png"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for promotion")
    args = parser.parse_args()
    cache = args.run / "bench"
    priors = prior_folders(cache / "priors", args.reference, args.workers)
    models = {"conv": args.run}
    if args.compare:
        models["fc"] = args.compare
    table: dict = {}
    for name in SETS:
        print(f"\n{name}\n| prior | LPS {HEADER}")
        print("|---" * 9 + "|")
        for label, folder in priors.items():
            before = score(folder / name, name, args.workers)
            table.setdefault(name, {})[label] = {"before": before}
            print(row([label, "-"], before))
            for key, run in models.items():
                promoter = Promoter.from_file(
                    run / "final.safetensors", iterations=args.iters, bf16=args.bf16
                )
                out = cache / "promoted" / key / folder.name / name
                report = promote_folder(promoter, dataset_path(name), folder / name, out)
                if report.failed or report.missing:
                    raise SystemExit(f"{label}/{name}: {report.failed[:3]} {report.missing[:3]}")
                after = score(out, name, args.workers)
                table[name][label][f"after {key}"] = after
                print(row([label, f"{key}, T={args.iters}"], after), flush=True)
    curves = {}
    if args.curve:
        promoter = Promoter.from_file(args.run / "final.safetensors", bf16=args.bf16)
        for name in SETS:
            before = table[name]["MR"]["before"]
            curves[name] = [
                before,
                *iteration_curve(promoter, priors["MR"] / name, name, args.curve),
            ]
        plot_curve(curves, args.figure)
        print(f"\nMR, T = 0..{args.curve} (T = 0: the MR map itself); figure {args.figure}")
        for name, points in curves.items():
            print(f"{name} max F: " + " ".join(f"{p['maxF']:.3f}" for p in points))
            print(f"{name} MAE:   " + " ".join(f"{p['MAE']:.3f}" for p in points))
    write_json(
        args.run / "eval.json",
        {
            "model": "final.safetensors",
            "iterations": args.iters,
            "promotion": table,
            "curve_mr": curves,
        },
    )
    print(json.dumps({"written": str(args.run / "eval.json")}))


if __name__ == "__main__":
    main()
