"""JSM on the synthetic RGB-D set: the main run, its label rounds, the ablation, RGB-only benchmarks.

``main`` is the pipeline itself (``weaksal train jsm``, config
``configs/jsm/jsm_efficientnet_lite0.yaml``: 3,000 training scenes). ``train``
runs the ablation rows on a smaller protocol, every row alike
(``ABLATION``: the first 1,000 training scenes, 6 epochs, an update every
2nd), so that five trainings fit in the budget:

    initial     the saliency network on the initial labels only (no updates, no SSM)
    +updates    labels renewed by the JSM rule with g = d = 0.5 and no depth network (D = 0)
    +SSM        ... with the depth network (SSM), still g = d = 0.5
    +TSM        ... with g, d from TSM: the full method
    supervised  the saliency network on the synthetic ground truth (the paper's
                fully-supervised variant, as an upper bound)

``report`` writes ``OUT/tables.json``, ``OUT/tables.md`` and
``OUT/label_rounds.png``:

* pseudo-label quality (max F mean over images, MAE; against the synthetic
  masks, reported only) at every label round of the main run, and of every
  ablation row;
* the test scenes (RGB only): each row's kept model and the initial detector;
* ECSSD and SOD (RGB only): the main run's model beside MR and the shipped WSS;
* each stage's time.

    python bench/jsm_tables.py train  [--out runs/jsm-tables] [key=value ...]
    python bench/jsm_tables.py report [--main runs/jsm-main] [--out runs/jsm-tables]

The synthetic set must exist first (README, "JSM"):
``weaksal data make-rgbd $WEAKSAL_DATA/DUTS-TR-50 --coco $WEAKSAL_DATA/COCO-MINI --out runs/rgbd-synth``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from weaksal.engine.config import load_config
from weaksal.engine.stages import DONE
from weaksal.methods.jsm.config import SECTIONS as JSM_SECTIONS
from weaksal.plumbing.atomic import write_json, write_text

CONFIG = "configs/jsm/jsm_efficientnet_lite0.yaml"
ABLATION = ["data.train_limit=1000", "train.epochs=6", "update.every=2"]
ROWS = {  # row: overrides on the config and ABLATION
    "initial": ["update.every=0", "ssm.enabled=false"],
    "+updates": ["update.confidence=equal", "ssm.enabled=false"],
    "+SSM": ["update.confidence=equal"],
    "+TSM": [],
    "supervised": ["initial.source=ground_truth", "update.every=0", "ssm.enabled=false"],
}


def train(out: Path, config_file: str, overrides: list[str]) -> None:
    from weaksal.methods import jsm

    out.mkdir(parents=True, exist_ok=True)
    for name, extra in ROWS.items():
        if name not in ("initial", "supervised"):  # one detector choice and round 0 for all
            _link_initial(out / name)
        start = time.time()
        print(f"== {name}: {' '.join(extra) or 'the full method'}", flush=True)
        jsm.train(
            load_config(config_file, [*ABLATION, *overrides, *extra], JSM_SECTIONS), out / name
        )
        print(f"== {name} done in {time.time() - start:.0f} s", flush=True)


def _link_initial(run: Path) -> None:
    """Share the first row's ``initial`` stage and round-0 labels (same detector, same scenes)."""
    import os

    (run / "labels").mkdir(parents=True, exist_ok=True)
    for link, target in ((run / "initial", "../initial/initial"),
                         (run / "labels" / "round_0", "../../initial/labels/round_0")):  # fmt: skip
        if not link.exists():
            os.symlink(target, link)


def stage_seconds(run: Path) -> dict[str, float]:
    return {
        done.parent.name: json.loads(done.read_text())["seconds"]
        for done in sorted(run.glob(f"*/{DONE}"))
    }


def label_rounds(run: Path) -> list[dict]:
    """Each committed label round's quality against the synthetic masks (reported only)."""
    import yaml

    from weaksal.methods.jsm.pipeline import label_quality, open_set
    from weaksal.refine.label_store import LabelStore

    store = LabelStore(run / "labels")
    data = yaml.safe_load((run / "config.yaml").read_text())["data"]
    samples = open_set(data["train"], "train")
    samples = samples[: int(data["train_limit"])] if data.get("train_limit") else samples
    rounds = []
    for round_ in store.rounds():
        info = store.info(round_)
        quality = info.get("quality") or label_quality(store, round_, samples)
        rounds.append({"round": round_, "epoch": info.get("epoch", 0), **quality})
    return rounds


def benchmark_rows(main: Path, benchmarks: list[str], out: Path) -> dict[str, dict]:
    """ECSSD and SOD, RGB only: the main model, MR and the shipped WSS, one protocol."""
    from weaksal.classic.files import write_detector_maps
    from weaksal.data.discover import open_dataset
    from weaksal.data.sources import dataset_path
    from weaksal.methods.evaluation import evaluate_model, headline
    from weaksal.methods.jsm.pipeline import saliency_scores
    from weaksal.models import load_model
    from weaksal.pretrained import shipped_file

    rows: dict[str, dict] = {}
    models = {"JSM (main run)": main / "final.safetensors", "WSS (shipped)": shipped_file("wss")}
    for name in benchmarks:
        samples = open_dataset(dataset_path(name)).samples
        for row, file in models.items():
            model, spec = load_model(file)
            results = evaluate_model(model, samples, int(spec["input_size"]))
            rows.setdefault(row, {})[name] = {
                **headline(results),
                "maxf_pooled": results["pooled"]["max"],
            }
        folder = out / "mr" / name
        write_detector_maps("mr", samples, folder, 2)
        rows.setdefault("MR", {})[name] = saliency_scores(folder, samples)
    return rows


def plot_rounds(rounds: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, found in rounds.items():
        x = [r["round"] for r in found]
        left.plot(x, [r["maxf"] for r in found], marker="o", label=name)
        right.plot(x, [r["mae"] for r in found], marker="o", label=name)
    left.set(xlabel="label round (0: initial)", ylabel="max F (mean)", title="pseudo-label max F")
    right.set(xlabel="label round (0: initial)", ylabel="MAE", title="pseudo-label MAE")
    left.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def report(main: Path, out: Path, benchmarks: list[str]) -> None:
    runs = {
        "main": main,
        **{row: out / row for row in ROWS if (out / row / "joint" / DONE).exists()},
    }
    rounds = {name: label_rounds(run) for name, run in runs.items()}
    tests = {
        name: json.loads((run / "test" / DONE).read_text())["summary"]
        for name, run in runs.items()
        if (run / "test" / DONE).exists()
    }
    chosen = {
        name: json.loads((run / "initial" / DONE).read_text())["summary"]
        for name, run in runs.items()
    }
    bench = benchmark_rows(main, benchmarks, out)
    times = {name: stage_seconds(run) for name, run in runs.items()}
    write_json(
        out / "tables.json",
        {"rounds": rounds, "test": tests, "initial": chosen, "benchmarks": bench, "seconds": times},
    )
    plot_rounds({k: v for k, v in rounds.items() if len(v) > 1}, out / "label_rounds.png")
    lines = ["| run | round | after epoch | label max F | label MAE |", "|---|---|---|---|---|"]
    for name, found in rounds.items():
        lines += [
            f"| {name} | {r['round']} | {r['epoch']} | {r['maxf']:.3f} | {r['mae']:.3f} |"
            for r in found
        ]
    lines += ["", "| run | test max F | MAE | S | initial detector on test: max F | MAE |"]
    lines += ["|---|---|---|---|---|---|"]
    for name, t in tests.items():
        d = t.get("initial_detector", {})
        lines.append(
            f"| {name} | {t['model']['maxf']:.3f} | {t['model']['mae']:.3f} |"
            f" {t['model']['smeasure']:.3f} | {d.get('name', '-')} {d.get('maxf', float('nan')):.3f}"
            f" | {d.get('mae', float('nan')):.3f} |"
        )
    lines += [
        "",
        "| model (RGB only) | " + " | ".join(f"{b} max F | {b} MAE" for b in benchmarks) + " |",
    ]
    lines += ["|---" * (1 + 2 * len(benchmarks)) + "|"]
    for row, by in bench.items():
        lines.append(
            f"| {row} | "
            + " | ".join(f"{by[b]['maxf']:.3f} | {by[b]['mae']:.3f}" for b in benchmarks)
            + " |"
        )
    lines += ["", "| run | stage seconds |", "|---|---|"]
    lines += [f"| {name} | {json.dumps(t)} |" for name, t in times.items()]
    write_text(out / "tables.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("train", "report"))
    parser.add_argument("--out", type=Path, default=Path("runs/jsm-tables"))
    parser.add_argument("--main", type=Path, default=Path("runs/jsm-main"))
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--benchmarks", nargs=2, default=["ECSSD", "SOD"])
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    if args.what == "train":
        train(args.out, args.config, args.overrides)
    else:
        report(args.main, args.out, args.benchmarks)


if __name__ == "__main__":
    main()
