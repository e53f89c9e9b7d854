"""SSNet's Tables 5 and 6 on the DUTS-TR-50 segmentation benchmark: every row from one command.

``train`` runs the pipelines the rows need (each resumable, finished stages
kept), from one config (default ``configs/ssnet/ssnet_fpn_efficientnet_lite0.yaml``):

    MM   stage 1 multi-task (SSNet-M) -> CRF labels -> stage 2 multi-task (SSNet-MM)
    MS   the same stage 1 and labels (linked from MM) -> stage 2 on the labels alone
    SS   stage 1 on class labels alone (SSNet-S) -> its labels -> stage 2 on them alone
    2S   stage 2's network for saliency alone (SSNet-2S, Table 6)

``report`` writes ``OUT/tables.json`` and ``OUT/tables.md``:

* Table 5: val mIoU (51 labels, 255 ignored) of SSNet-S, -M, -SS, -MS, -MM, and
  their per-class IoU; the pseudo-labels' mIoU against the classification
  half's label maps (reporting only); the baseline "saliency map x predicted
  image class" (the map > 0.5 labelled with the top class of SSNet-MM's
  classification layer) for SSNet-MM's own map and for the fully-supervised
  fpn reference when ``--reference`` exists;
* Table 6: max F (mean over images and pooled), MAE and S-measure on ECSSD and
  SOD for SSNet-2S against SSNet-MM (each run's ``eval.json``, which shipping reads);
* L_s1 as Eq. 3 (BCE, the default) against the released code's NLL on
  probabilities: SSNet-M's stage 1 trained both ways for ``FORM_STEPS`` steps
  (``M-paper``, ``M-code``), val mIoU and ECSSD saliency.

    python bench/ssnet_tables.py train  [--out runs/ssnet-tables] [--config ...] [key=value ...]
    python bench/ssnet_tables.py report [--out runs/ssnet-tables]

The segmentation tree must exist first:
``weaksal data make-seg $WEAKSAL_DATA/DUTS-TR-50 --out runs/duts-seg``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from weaksal.engine.config import load_config
from weaksal.engine.stages import DONE
from weaksal.plumbing.atomic import write_json, write_text

ROWS = {  # row name: (run, stage)
    "SSNet-S": ("SS", "stage1"),
    "SSNet-M": ("MM", "stage1"),
    "SSNet-SS": ("SS", "stage2"),
    "SSNet-MS": ("MS", "stage2"),
    "SSNet-MM": ("MM", "stage2"),
}
PAPER = {"SSNet-S": 33.1, "SSNet-M": 57.1, "SSNet-SS": 47.1, "SSNet-MS": 62.7, "SSNet-MM": 63.3}
FORM_STEPS = 250  # the L_s1 form comparison (SSNet-M stage 1 trained both ways)
VARIANTS = {  # run name: overrides on the config
    "MM": [],
    "2S": ["stage2.tasks=saliency"],
    "MS": ["stage2.tasks=segmentation"],
    "SS": ["stage1.tasks=classification", "stage2.tasks=segmentation"],
}


def train(out: Path, config_file: str, overrides: list[str]) -> None:
    from weaksal.methods.ssnet import pipeline as ssnet
    from weaksal.methods.ssnet.config import SECTIONS as ssnet_sections

    out.mkdir(parents=True, exist_ok=True)
    for name, extra in VARIANTS.items():
        run = out / name
        if name == "MS":  # SSNet-M and its labels are MM's: linked, not trained twice
            run.mkdir(parents=True, exist_ok=True)
            for stage in ("stage1", "labels"):
                if not (run / stage).exists():
                    os.symlink(Path("..") / "MM" / stage, run / stage)
        start = time.time()
        print(f"== {name}: {' '.join(extra) or 'as configured'}", flush=True)
        ssnet.train(load_config(config_file, [*overrides, *extra], ssnet_sections), run)
        print(f"== {name} done in {time.time() - start:.0f} s", flush=True)
    for form in ("paper", "code"):
        train_stage1_form(out, config_file, overrides, form)


def train_stage1_form(out: Path, config_file: str, overrides: list[str], form: str) -> None:
    """SSNet-M with L_s1 as Eq. 3 (``paper``) or as the released code (``code``): stage 1
    only, for ``FORM_STEPS`` steps (a shorter budget than the table rows)."""
    from weaksal.engine.schema import resolve_config
    from weaksal.engine.stages import Stage, run_pipeline, start_pipeline
    from weaksal.methods.ssnet import pipeline as ssnet
    from weaksal.methods.ssnet.config import SECTIONS as ssnet_sections

    extra = [f"stage1.saliency_form={form}", f"stage1.steps={FORM_STEPS}"]
    config = resolve_config(
        load_config(config_file, [*overrides, *extra], ssnet_sections), ssnet_sections
    )
    sources = ssnet.open_sources(config["data"])
    run = start_pipeline(out / f"M-{form}", config)
    print(f"== M-{form}: {' '.join(extra)} (stage 1 only)", flush=True)
    run_pipeline(
        run,
        [Stage("stage1", lambda f: ssnet.train_network(config, "stage1", f, True, sources))],
    )


def stage_seconds(run: Path) -> dict[str, float]:
    seconds = {}
    for done in sorted(run.glob(f"*/{DONE}")):
        seconds[done.parent.name] = json.loads(done.read_text())["seconds"]
    return seconds


def class_baseline(classifier_file: Path, saliency_file: Path, tree: Path) -> float:
    """mIoU of "saliency > 0.5 labelled with the classifier's top class" on the val list."""
    import torch

    from weaksal.data.imageio import read_image
    from weaksal.data.voc import index_voc, read_label_map
    from weaksal.inference.runtimes import TorchRuntime, predict_images, to_batch
    from weaksal.metrics.segmentation import ConfusionMatrix
    from weaksal.models import load_model

    classifier, spec = load_model(classifier_file)
    saliency_model, saliency_spec = load_model(saliency_file)
    runtime = TorchRuntime(saliency_model)
    labels = len(spec["classes"]) + 1
    matrix = ConfusionMatrix(labels)
    samples = index_voc(tree, "val").samples
    for start in range(0, len(samples), 8):
        chunk = samples[start : start + 8]
        images = [read_image(s.image) for s in chunk]
        with torch.inference_mode():
            scores = classifier(torch.from_numpy(to_batch(images, int(spec["input_size"]))))
        top = scores.classes.float().argmax(dim=1).numpy() + 1
        maps = predict_images(runtime, images, int(saliency_spec["input_size"]))
        for sample, label, saliency in zip(chunk, top, maps, strict=True):
            prediction = np.where(saliency > 0.5, label, 0).astype(np.uint8)
            matrix.step(prediction, read_label_map(sample.mask))
    return float(matrix.results()["miou"])


def label_rules(model_file: Path, tree: Path) -> dict[str, float]:
    """Val mIoU of SSNet-1's segmentation restricted to each image's classes, before the CRF:
    absent probabilities 0 (the paper) against absent logits 0 (the released code).

    Reporting only (stage 2's labels are made on the training images).
    """
    import torch
    import torch.nn.functional as F

    from weaksal.data.imageio import read_image
    from weaksal.data.voc import index_voc, read_label_map
    from weaksal.inference.runtimes import to_batch
    from weaksal.metrics.segmentation import ConfusionMatrix
    from weaksal.models import load_model

    model, spec = load_model(model_file)
    labels = len(spec["classes"]) + 1
    matrices = {"paper": ConfusionMatrix(labels), "code": ConfusionMatrix(labels)}
    for sample in index_voc(tree, "val").samples:
        image, truth = read_image(sample.image), read_label_map(sample.mask)
        present = [0, *sorted(set(np.unique(truth).tolist()) - {0, 255})]
        with torch.inference_mode():
            logits = model(torch.from_numpy(to_batch([image], int(spec["input_size"]))))
        logits = F.interpolate(
            logits.segmentation.float(), size=truth.shape, mode="bilinear", align_corners=False
        )[0].numpy()
        kept = logits[present]
        matrices["paper"].step(np.asarray(present)[kept.argmax(0)].astype(np.uint8), truth)
        first_absent = min(set(range(labels)) - set(present))  # argmax of tied zero logits
        code = np.where(kept.max(0) > 0, np.asarray(present)[kept.argmax(0)], first_absent)
        matrices["code"].step(code.astype(np.uint8), truth)
    return {rule: float(m.results()["miou"]) for rule, m in matrices.items()}


def report(out: Path, reference: Path, tree: Path, benchmarks: list[str]) -> None:
    from weaksal.data.discover import open_dataset
    from weaksal.data.sources import dataset_path
    from weaksal.data.voc import voc_class_names
    from weaksal.methods.evaluation import evaluate_model, evaluate_run
    from weaksal.models import load_model

    table5: dict[str, dict] = {}
    for row, (run, stage) in ROWS.items():
        val = json.loads((out / run / stage / "val.json").read_text())
        table5[row] = {"miou": val["miou"], "iou": val["iou"], "paper": PAPER[row]}
    labels = {
        run: json.loads((out / run / "labels" / "quality.json").read_text()) for run in ("MM", "SS")
    }
    rules = {  # stage 1's segmentation restricted to the image's classes (the label step)
        f"{row}, absent {rule}": value
        for row, run in (("SSNet-S", "SS"), ("SSNet-M", "MM"))
        for rule, value in label_rules(out / run / "stage1" / "final.safetensors", tree).items()
    }
    mm = out / "MM" / "final.safetensors"
    baselines = {"SSNet-MM saliency x SSNet-MM class": class_baseline(mm, mm, tree)}
    if reference.exists():
        baselines["reference saliency x SSNet-MM class"] = class_baseline(mm, reference, tree)
    table6 = {  # eval.json beside each run: what shipping the run reads
        row: evaluate_run(out / run, benchmarks)
        for row, run in (("SSNet-2S", "2S"), ("SSNet-MM", "MM"))
    }
    forms: dict[str, dict] = {}  # L_s1 as the paper writes it and as the code computes it
    if all((out / f"M-{form}" / "stage1" / DONE).is_file() for form in ("paper", "code")):
        ecssd = open_dataset(dataset_path(benchmarks[0])).samples
        for form in ("paper", "code"):
            model, spec = load_model(out / f"M-{form}" / "stage1" / "final.safetensors")
            saliency = evaluate_model(model, ecssd, int(spec["input_size"]))
            val = json.loads((out / f"M-{form}" / "stage1" / "val.json").read_text())
            forms[form] = {
                "val_miou": val["miou"],
                "ECSSD_maxf": saliency["maxf"],
                "ECSSD_maxf_pooled": saliency["pooled"]["max"],
                "ECSSD_mae": saliency["mae"],
            }
    times = {run: stage_seconds(out / run) for run in [*VARIANTS, "M-paper", "M-code"]}
    names = voc_class_names(tree)
    write_json(
        out / "tables.json",
        {
            "table5": table5,
            "pseudo_labels": labels,
            "baselines": baselines,
            "table6": table6,
            "saliency_loss_forms": forms,
            "label_rules_val": rules,
            "seconds": times,
            "classes": names,
        },
    )
    lines = ["| row | val mIoU | paper (VOC) |", "|---|---|---|"]
    lines += [f"| {row} | {100 * r['miou']:.1f} | {r['paper']} |" for row, r in table5.items()]
    lines += ["", "| baseline | val mIoU |", "|---|---|"]
    lines += [f"| {name} | {100 * v:.1f} |" for name, v in baselines.items()]
    lines += ["", "| stage 1 restricted to the image's classes (val, no CRF) | mIoU |", "|---|---|"]
    lines += [f"| {rule} | {100 * v:.1f} |" for rule, v in rules.items()]
    lines += ["", "| pseudo-labels of | mIoU vs label maps (reporting only) |", "|---|---|"]
    lines += [f"| SSNet-{run[0]} | {100 * q['miou']:.1f} |" for run, q in labels.items()]
    lines += ["", "| Table 6 | ECSSD maxF mean/pooled | MAE | S | SOD maxF mean/pooled | MAE | S |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for row, by in table6.items():
        e, s = (by[name] for name in benchmarks[:2])
        lines.append(
            f"| {row} | {e['maxf']:.3f}/{e['maxf_pooled']:.3f} | {e['mae']:.3f} |"
            f" {e['smeasure']:.3f} | {s['maxf']:.3f}/{s['maxf_pooled']:.3f} | {s['mae']:.3f} |"
            f" {s['smeasure']:.3f} |"
        )
    if forms:
        lines += [
            "",
            f"| SSNet-M ({FORM_STEPS} steps), L_s1 | val mIoU | ECSSD maxF mean/pooled | MAE |",
        ]
        lines += ["|---|---|---|---|"]
        for form, f in forms.items():
            lines.append(
                f"| {form} | {100 * f['val_miou']:.1f} | {f['ECSSD_maxf']:.3f}/"
                f"{f['ECSSD_maxf_pooled']:.3f} | {f['ECSSD_mae']:.3f} |"
            )
    lines += ["", "| class | " + " | ".join(ROWS) + " |", "|---" * (len(ROWS) + 1) + "|"]
    for index, name in enumerate(names):
        cells = []
        for row in ROWS:
            value = table5[row]["iou"][index]
            cells.append("-" if value is None else f"{100 * value:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| run | " + " | ".join(["stage1", "labels", "stage2"]) + " (seconds) |"]
    lines += ["|---|---|---|---|"]
    for run, by in times.items():
        lines.append(
            f"| {run} | "
            + " | ".join(str(by.get(s, "-")) for s in ("stage1", "labels", "stage2"))
            + " |"
        )
    write_text(out / "tables.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("train", "report"))
    parser.add_argument("--out", type=Path, default=Path("runs/ssnet-tables"))
    parser.add_argument("--config", default="configs/ssnet/ssnet_fpn_efficientnet_lite0.yaml")
    parser.add_argument("--tree", type=Path, default=Path("runs/duts-seg"))
    parser.add_argument(
        "--reference",
        type=Path,
        default=Path("runs/reference-fpn_efficientnet_lite2/best.safetensors"),
    )
    parser.add_argument("--benchmarks", nargs=2, default=["ECSSD", "SOD"])
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    if args.what == "train":
        train(args.out, args.config, args.overrides)
    else:
        report(args.out, args.reference, args.tree, args.benchmarks)


if __name__ == "__main__":
    main()
