"""Scoring a method's networks: validation during training, and the report of a finished run.

Validation (:func:`validate_saliency`, :func:`keep_best`) scores held-out
images of the training set and keeps the best weights; :func:`evaluate_run`
scores a finished run on benchmark sets for reporting only, never feeding
back into training or model choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_image, read_mask
from weaksal.data.layouts import Sample
from weaksal.data.sources import dataset_path
from weaksal.inference.runtimes import TorchRuntime, predict_images
from weaksal.metrics.evaluator import SaliencyEvaluator


def evaluate_model(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    size: int,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    channels_last: bool = False,
    maxf: str = "mean",
) -> dict[str, Any]:
    """Predict every sample at ``size`` and score against its mask at the original size."""
    was_training = model.training
    runtime = TorchRuntime(model, device, channels_last)
    evaluator = SaliencyEvaluator(maxf=maxf)
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        maps = predict_images(runtime, [read_image(s.image) for s in chunk], size)
        for sample, prediction in zip(chunk, maps, strict=True):
            evaluator.step(
                np.round(prediction * 255).astype(np.uint8), read_mask(sample.mask), sample.stem
            )
    model.train(was_training)
    return evaluator.results()


def headline(results: Mapping[str, Any]) -> dict[str, float]:
    """The numbers a log line or table shows."""
    return {
        "maxf": results["maxf"],
        "mae": results["mae"],
        "smeasure": results["smeasure"],
        "adpf": results["fmeasure"]["adaptive"],
        "maxe": results["emeasure"]["max"],
        "wfm": results["wfmeasure"],
    }


def kept_model(folder: str | Path, last: str = "final.safetensors") -> Path:
    """The model a training folder keeps: ``best.safetensors`` when it validated, else
    its last weights (``last``)."""
    best = Path(folder) / "best.safetensors"
    return best if best.exists() else Path(folder) / last


def evaluate_run(
    run_dir: str | Path, benchmarks: Sequence[str], batch_size: int = 8
) -> dict[str, dict]:
    """Score a run's best model (final if it never validated) on benchmark sets; write eval.json.

    Reporting only: nothing here feeds back into training or model choice.
    Both max-F conventions are recorded.
    """
    from weaksal.models import load_model
    from weaksal.plumbing.atomic import write_json

    run_dir = Path(run_dir)
    model_file = kept_model(run_dir)
    model, spec = load_model(model_file)
    table: dict[str, dict] = {}
    for name in benchmarks:
        samples = open_dataset(dataset_path(name)).samples
        results = evaluate_model(model, samples, int(spec["input_size"]), batch_size)
        row = headline(results)
        row["maxf_pooled"] = results["pooled"]["max"]
        table[name] = row
    write_json(run_dir / "eval.json", {"model": model_file.name, "benchmarks": table})
    return table


def validate_saliency(
    trainer, network: torch.nn.Module, samples: Sequence[Sample], size: int, channels_last: bool
) -> Callable[[], dict[str, float]] | None:
    """The ``validate`` of :meth:`~weaksal.engine.trainer.Trainer.steps` for a saliency network.

    Scores ``network`` on held-out ``samples`` (never training images) at
    ``size`` on the trainer's device; ``None`` when there is nothing to
    validate on, so the loop keeps its last weights.
    """
    if not samples:
        return None

    def validate() -> dict[str, float]:
        return headline(
            evaluate_model(
                network, samples, size, device=trainer.device, channels_last=channels_last
            )
        )

    return validate


def keep_best(
    folder: str | Path, network: torch.nn.Module, spec: Mapping[str, Any]
) -> Callable[[int], None]:
    """The ``on_best`` of :meth:`~weaksal.engine.trainer.Trainer.steps`: the best weights so far
    go to ``folder/best.safetensors`` (what :func:`kept_model` then picks)."""
    from weaksal.models import save_model

    path = Path(folder) / "best.safetensors"

    def save(step: int) -> None:
        save_model(path, network, dict(spec))

    return save
