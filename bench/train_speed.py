"""Training speed: the paper decoder against the multi-scale decoders, and the data pipeline.

``decoders`` (default): SNet as the papers build it (backbone dilated to
stride 8, dilated-sum head, x8 deconvolution) against every decoder of
``weaksal.nn.decoders.DECODERS`` on the same backbone at stride 32. The
training step is the reference's (batch 8, 256x256, bf16 autocast +
channels_last, Adam, BCE on real DUTS-TR-50 images and masks held in memory);
models take turns in rounds (order rotated every round) so machine noise
hits all alike, and the median step time is kept. Then inference per image
at batch 1 and 8, eager bf16 + channels_last and ONNX Runtime fp32. One line
per decoder reads ``ratio decoder NAME: N.Nx`` (SNet's step time / its own).

``pipeline``: the reference step fed by the engine's loader (JPEG decode +
resize in one worker process) vs by batches held in memory, alternating.

    python bench/train_speed.py [--what decoders|pipeline|both] [--backbone efficientnet_lite0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from weaksal.data.datasets import SaliencyDataset
from weaksal.data.sources import split_samples
from weaksal.engine.batches import step_loader
from weaksal.engine.loop import prepare_images
from weaksal.inference.export import export_onnx
from weaksal.inference.runtimes import OnnxRuntime
from weaksal.models import create_model, save_model
from weaksal.nn.decoders import DECODERS


def spec_of(backbone: str, decoder: str) -> dict:
    return {
        "architecture": "snet",
        "backbone": backbone,
        "decoder": decoder,
        "input_size": 256,
        "freeze_bn": True,
    }


def training_step(model, optimizer):
    def step(batch) -> None:
        images = prepare_images(batch["image"], torch.device("cpu"), True)
        masks = batch["mask"].float().div_(255.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(images).saliency
        F.binary_cross_entropy_with_logits(logits.float(), masks).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def preloaded_batches(batch_size: int, count: int) -> list[dict]:
    dataset = SaliencyDataset(split_samples("DUTS-TR-50", "train"), 256)
    loader = step_loader(dataset, batch_size, 0, 0, count, workers=0)
    return [batch for _, batch in zip(range(count), loader, strict=False)]


def median_ms(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_decoders(args) -> None:
    torch.manual_seed(0)
    names = ["paper", *DECODERS]
    models = {
        name: create_model(spec_of(args.backbone, name))
        .to(memory_format=torch.channels_last)
        .train()
        for name in names
    }
    steps = {
        name: training_step(model, torch.optim.Adam(model.parameters(), 1e-5))
        for name, model in models.items()
    }
    batches = preloaded_batches(args.batch, args.steps)
    for step in steps.values():  # warm-up
        step(batches[0])
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            for batch in batches:
                steps[name](batch)
            seconds[name].append((time.perf_counter() - start) / len(batches))
    step_time = {name: statistics.median(values) for name, values in seconds.items()}
    print(
        f"\ntraining step, {args.backbone}, batch {args.batch}, 256x256, bf16 + channels_last"
        f" (median of {args.rounds} rounds of {args.steps} steps):"
    )
    for name in names:
        label = "SNet (paper: stride 8, dilated sum, x8 deconv)" if name == "paper" else name
        print(f"  {label:48s} {step_time[name]:7.3f} s/step")
    for name in names[1:]:
        print(f"ratio decoder {name}: {step_time['paper'] / step_time[name]:.1f}x")
    bench_inference(args, models)


def bench_inference(args, models: dict) -> None:
    workdir = Path(tempfile.mkdtemp())
    rows = {}
    for name, model in models.items():
        model = model.eval()
        plain = create_model(spec_of(args.backbone, name), pretrained="none").eval()
        plain.load_state_dict(model.state_dict())
        save_model(workdir / f"{name}.safetensors", plain, spec_of(args.backbone, name))
        onnx = OnnxRuntime(export_onnx(workdir / f"{name}.safetensors", workdir / f"{name}.onnx"))
        for batch in (1, 8):
            x = torch.rand(batch, 3, 256, 256).contiguous(memory_format=torch.channels_last)
            x_np = np.ascontiguousarray(x.numpy())

            def eager_bf16(x=x, model=model):
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                    return model(x).saliency

            eager_bf16()
            onnx.logits(x_np)
            rows[(name, batch, "bf16")] = median_ms(eager_bf16, args.rounds) / batch
            rows[(name, batch, "onnx")] = (
                median_ms(lambda x_np=x_np, onnx=onnx: onnx.logits(x_np), args.rounds) / batch
            )
    print(f"\ninference, ms per image, 256x256 (median of {args.rounds}):")
    print(f"  {'decoder':10s} {'bf16 b1':>9s} {'bf16 b8':>9s} {'onnx b1':>9s} {'onnx b8':>9s}")
    for name in models:
        cells = [rows[(name, b, p)] for p in ("bf16", "onnx") for b in (1, 8)]
        print(f"  {name:10s} " + " ".join(f"{c:9.1f}" for c in cells))


def bench_pipeline(args) -> None:
    torch.manual_seed(0)
    model = create_model(spec_of(args.backbone, "paper")).to(memory_format=torch.channels_last)
    step = training_step(model.train(), torch.optim.Adam(model.parameters(), 1e-5))
    dataset = SaliencyDataset(split_samples("DUTS-TR-50", "train"), 256)
    total = args.steps * args.rounds * 2 + 1
    preloaded = preloaded_batches(args.batch, args.steps)
    live = iter(step_loader(dataset, args.batch, 1, 0, total, workers=1))
    step(next(live))  # warm-up, starts the worker
    rates: dict[str, list[float]] = {"pipeline": [], "preloaded": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step(next(live))
        rates["pipeline"].append(args.steps / (time.perf_counter() - start))
        start = time.perf_counter()
        for batch in preloaded:
            step(batch)
        rates["preloaded"].append(args.steps / (time.perf_counter() - start))
    pipeline, memory = statistics.median(rates["pipeline"]), statistics.median(rates["preloaded"])
    print(f"\nsteps/s (median of {args.rounds} blocks of {args.steps} steps, batch {args.batch}):")
    print(
        f"  real data pipeline (1 loader worker): {pipeline:.4f}  ({pipeline * args.batch:.2f} images/s)"
    )
    print(
        f"  pre-loaded tensors:                   {memory:.4f}  ({memory * args.batch:.2f} images/s)"
    )
    print(f"  pipeline / pre-loaded: {100 * pipeline / memory:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", choices=("decoders", "pipeline", "both"), default="decoders")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--steps", type=int, default=3, help="steps per round (block)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (blocks per feed)")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.what in ("decoders", "both"):
        bench_decoders(args)
    if args.what in ("pipeline", "both"):
        bench_pipeline(args)


if __name__ == "__main__":
    main()
