"""Training throughput of the reference model: the real data pipeline vs pre-loaded tensors.

The same training step (SNet, EfficientNet-Lite0 at stride 8, batch 8, 256x256,
bf16 autocast + channels_last, as configs/reference/snet_efficientnet_lite0.yaml)
is fed either by the engine's loader (JPEG decode + resize of DUTS-TR-50 in one
worker process, step-indexed batches) or by batches decoded beforehand and
held in memory. Blocks of steps alternate between the two feeds, so machine
noise hits both alike.

    python bench/train_speed.py [--steps 6] [--blocks 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from weaksal.data.datasets import SaliencyDataset
from weaksal.engine.batches import step_loader
from weaksal.methods.common import prepare_images, split_samples
from weaksal.models import create_model

SPEC = {
    "architecture": "snet",
    "backbone": "efficientnet_lite0",
    "input_size": 256,
    "freeze_bn": True,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="steps per block")
    parser.add_argument("--blocks", type=int, default=4, help="blocks per feed")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = create_model(SPEC).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-5)
    dataset = SaliencyDataset(split_samples("DUTS-TR-50", "train"), 256)
    total = args.steps * args.blocks * 2 + 1
    preloaded = [
        batch
        for _, batch in zip(
            range(args.steps),
            step_loader(dataset, args.batch, 0, 0, args.steps, workers=0),
            strict=False,
        )
    ]

    def train_step(batch) -> None:
        images = prepare_images(batch["image"], torch.device("cpu"), True)
        masks = batch["mask"].float().div_(255.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(images)
        F.binary_cross_entropy_with_logits(logits.float(), masks).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    live = iter(step_loader(dataset, args.batch, 1, 0, total, workers=1))
    train_step(next(live))  # warm-up, starts the worker
    rates: dict[str, list[float]] = {"pipeline": [], "preloaded": []}
    for _ in range(args.blocks):
        start = time.perf_counter()
        for _ in range(args.steps):
            train_step(next(live))
        rates["pipeline"].append(args.steps / (time.perf_counter() - start))
        start = time.perf_counter()
        for batch in preloaded:
            train_step(batch)
        rates["preloaded"].append(args.steps / (time.perf_counter() - start))
    pipeline, memory = statistics.median(rates["pipeline"]), statistics.median(rates["preloaded"])
    print(f"steps/s (median of {args.blocks} blocks of {args.steps} steps, batch {args.batch}):")
    print(
        f"  real data pipeline (1 loader worker): {pipeline:.4f}  ({pipeline * args.batch:.2f} images/s)"
    )
    print(
        f"  pre-loaded tensors:                   {memory:.4f}  ({memory * args.batch:.2f} images/s)"
    )
    print(f"  pipeline / pre-loaded: {100 * pipeline / memory:.1f}%")


if __name__ == "__main__":
    main()
