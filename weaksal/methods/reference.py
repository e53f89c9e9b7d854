"""The fully-supervised reference model: MWS's SNet trained on pixel masks.

It is the upper bound every weakly-supervised table compares against: the
same network the weakly-supervised methods end with (``decoder: paper``:
stride-8 backbone, dilated 6/12/18/24 sum, learned x8 up-sampling; or a
multi-scale ``decoder``), trained on ground-truth masks with binary
cross-entropy. Validation and best-checkpoint choice use the
held-out ``val`` split of the training set, never a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from weaksal.data.atomic import write_json
from weaksal.data.datasets import SaliencyDataset
from weaksal.data.sources import split_samples
from weaksal.engine.schema import (
    EngineSection,
    SaliencyModelSection,
    SupervisedData,
    TrainSection,
    resolve_config,
)
from weaksal.engine.trainer import Trainer
from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.common import (
    evaluate_model,
    guarded_step,
    headline,
    image_mask_batch,
    network_spec,
    set_lr,
    setup_network,
)
from weaksal.models import save_model


@dataclass
class ReferenceModel(SaliencyModelSection):
    architecture: str = "snet"  # any registered saliency architecture


SECTIONS = {
    "model": ReferenceModel,
    "data": SupervisedData,
    "train": TrainSection,
    "engine": EngineSection,
}


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

    def validate() -> dict[str, float]:
        results = evaluate_model(
            raw_model,
            val_samples,
            spec["input_size"],
            device=trainer.device,
            channels_last=channels_last,
        )
        return headline(results)

    def save_best(step: int) -> None:
        save_model(run_dir / "best.safetensors", raw_model, spec)

    batches = trainer.loader(train_set, int(t["batch_size"]), steps)
    for step, batch in zip(
        trainer.steps(steps, validate if val_samples else None, "maxf", save_best),
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


register_method(
    "reference",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("best.safetensors", "saliency")},  # chosen on val
    table_rows={"reference": ["best.safetensors"]},
    about="the fully-supervised reference: a saliency network on pixel masks",
    supervision="pixel saliency masks (fully supervised): the upper bound of a budget",
    limitations=(
        "Trained on DUTS-TR-50's 4,236 training images only (50 ImageNet classes), at one"
        " square input size; it is the yardstick of the weakly-supervised models, not a"
        " state-of-the-art detector."
    ),
    default_config="reference/fpn_efficientnet_lite2.yaml",
)
