"""The fully-supervised reference model: MWS's SNet trained on pixel masks.

It is the upper bound every weakly-supervised table compares against: the
same network the weakly-supervised methods end with (``decoder: paper``:
stride-8 backbone, dilated 6/12/18/24 sum, learned x8 up-sampling; or a
multi-scale ``decoder``), trained on ground-truth masks with binary
cross-entropy. Validation and best-checkpoint choice use the
held-out ``val`` split of the training set, never a benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn.functional as F

from weaksal.data.datasets import SaliencyDataset
from weaksal.data.sources import split_samples
from weaksal.engine.loop import image_mask_batch, network_spec, setup_network
from weaksal.engine.optim import guarded_step, set_lr
from weaksal.engine.schema import (
    resolve_config,
)
from weaksal.engine.trainer import Trainer
from weaksal.methods.evaluation import keep_best, validate_saliency
from weaksal.methods.reference.config import SECTIONS
from weaksal.models import save_model
from weaksal.plumbing.atomic import write_json


def train(config: dict[str, Any], run_dir: str | Path, resume: bool = True) -> dict[str, Any]:
    config = resolve_config(config, SECTIONS)
    run_dir = Path(run_dir)
    trainer = Trainer(config, run_dir, resume)
    m = config["model"]
    spec = network_spec(m, m["architecture"], config["method"])
    t, data = config["train"], config["data"]
    raw_model, model, optimizer, channels_last = setup_network(trainer, config, spec, "snet")

    train_set = SaliencyDataset(
        split_samples(data["train"], data["train_split"]),
        spec["input_size"],
        on_mismatch=data["on_mismatch"],
    )
    val_samples = split_samples(data["train"], data["val_split"]) if data["val_split"] else []
    limit = int(data["val_limit"])
    val_samples = val_samples[:limit] if limit else val_samples
    steps = int(t["steps"])

    validate = validate_saliency(trainer, raw_model, val_samples, spec["input_size"], channels_last)
    batches = trainer.loader(train_set, int(t["batch_size"]), steps)
    for step, batch in zip(
        trainer.steps(steps, validate, "maxf", keep_best(run_dir, raw_model, spec)),
        batches,
        strict=False,
    ):
        lr = set_lr(optimizer, float(t["lr"]), step, steps, t["schedule"])
        images, masks = image_mask_batch(trainer, batch, step, t["flip"], channels_last)
        logits = model(images).saliency
        loss = F.binary_cross_entropy_with_logits(logits.float(), masks)
        stepped = guarded_step(trainer, optimizer, raw_model.parameters(), loss, t["grad_clip"])
        trainer.log(loss=loss if stepped else 0.0, lr=lr, skipped=0.0 if stepped else 1.0)

    summary: dict[str, Any] = {"steps": steps, "best": trainer.best}
    if trainer.is_writer:
        save_model(run_dir / "final.safetensors", raw_model, spec)
        write_json(run_dir / "summary.json", summary)
    return summary
