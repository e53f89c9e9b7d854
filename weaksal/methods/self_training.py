"""Self-training rounds: a saliency network fits pseudo-labels; its maps make the next ones.

Shared by WSS (the FCN's rounds, Sec. 3.5) and MWS (SNet, Sec. 3.4). A round
leaves out images whose label is implausible (the label gate), fits the rest
with the bootstrapping loss, and, given held-out images with masks, scores
the network every ``engine.val_every`` steps and keeps the best checkpoint.
The pipeline ships the round with the best validation score: rounds are
added while validation improves, never chosen on a benchmark. Training
masks are never read.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from weaksal.data.datasets import SaliencyDataset
from weaksal.data.layouts import Sample
from weaksal.data.sources import source_samples
from weaksal.engine.loop import image_mask_batch
from weaksal.engine.optim import guarded_step, set_lr
from weaksal.methods.evaluation import keep_best, kept_model, validate_saliency
from weaksal.methods.pseudo_labels import plausible_labels
from weaksal.models import save_model
from weaksal.nn.losses import bootstrapping_loss


def held_out(entry: Mapping[str, Any] | str | None) -> list[Sample]:
    """The validation images of a source entry (``{dataset, split}``) that have masks."""
    return [s for s in source_samples(entry) if s.mask is not None]


def fit_round(
    trainer,
    raw,
    model,
    optimizer,
    spec: dict[str, Any],
    settings: Mapping[str, Any],
    samples: Sequence[Sample],
    label_dir: Path,
    labels: Mapping[str, Any],
    val_samples: Sequence[Sample],
    channels_last: bool,
    last_file: Path,
) -> dict[str, Any]:
    """One round in ``last_file``'s folder: ``best.safetensors`` (validated) and ``last_file``.

    ``labels``: the method's labels section; the label gate keeps images whose
    label's foreground share lies in ``[min_foreground, max_foreground]``
    (:func:`~weaksal.methods.pseudo_labels.plausible_labels`).
    """
    folder = last_file.parent
    low, high = float(labels["min_foreground"]), float(labels["max_foreground"])
    training, dropped = plausible_labels(samples, label_dir, low, high)
    labelled = [Sample(s.stem, s.image, mask=label_dir / f"{s.stem}.png") for s in training]
    size = int(spec["input_size"])

    fit_pseudo_labels(
        trainer,
        model,
        raw,
        optimizer,
        SaliencyDataset(labelled, size),
        settings,
        channels_last,
        validate_saliency(trainer, raw, val_samples, size, channels_last),
        keep_best(folder, raw, spec),
    )
    if trainer.is_writer:
        save_model(last_file, raw, spec)
    return {
        "steps": int(settings["steps"]),
        "images": len(labelled),
        "dropped_by_label_gate": len(dropped),
        "val": dict(trainer.best),
    }


def fit_pseudo_labels(
    trainer,
    model,
    raw,
    optimizer,
    dataset,
    settings: Mapping[str, Any],
    channels_last: bool,
    validate: Callable[[], dict[str, float]] | None = None,
    on_best: Callable[[int], None] | None = None,
) -> None:
    """Self-training loop: a saliency network fits (pseudo-)labels with the bootstrapping loss.

    ``settings``: a resolved :class:`~weaksal.engine.schema.BootstrapTrainSection`.
    ``validate`` (held-out images with masks, never the training ones) scores
    the network every ``engine.val_every`` steps; ``on_best`` keeps the best.
    """
    steps = int(settings["steps"])
    batches = trainer.loader(dataset, int(settings["batch_size"]), steps)
    schedule = trainer.steps(steps, validate, "maxf" if validate else None, on_best)
    for step, batch in zip(schedule, batches, strict=False):
        lr = set_lr(optimizer, float(settings["lr"]), step, steps, settings["schedule"])
        images, labels = image_mask_batch(trainer, batch, step, settings["flip"], channels_last)
        logits = model(images).saliency.float()
        loss = bootstrapping_loss(logits, labels, float(settings["delta"]), bool(settings["hard"]))
        stepped = guarded_step(trainer, optimizer, raw.parameters(), loss, settings["grad_clip"])
        trainer.log(loss=loss if stepped else 0.0, lr=lr, skipped=0.0 if stepped else 1.0)


def chosen_round(summaries: Mapping[str, Any], rounds: Sequence[str]) -> str:
    """The round whose best validation max F is highest (a tie: the later; no validation: the last)."""
    scored = {name: summaries[name].get("val", {}).get("value") for name in rounds}
    if any(value is None for value in scored.values()):
        return rounds[-1]
    return max(rounds, key=lambda name: (scored[name], rounds.index(name)))


def ship_best_round(
    run_dir: Path, summaries: dict[str, Any], rounds: Sequence[str], last: str
) -> None:
    """Copy the chosen round's kept model to ``final.safetensors``; record it as ``final``."""
    final = chosen_round(summaries, rounds)
    kept = kept_model(run_dir / final, last)
    shutil.copyfile(kept, run_dir / "final.safetensors")
    summaries["final"] = {"round": final, "file": kept.name}
