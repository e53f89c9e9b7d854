"""Inference speed of the reference network (SNet, EfficientNet-Lite0 at stride 8), 256x256, CPU.

1. Backbone alone vs the full model (eager fp32): the head's cost on top.
2. Eager vs channels_last vs bf16 autocast (+channels_last) vs ONNX Runtime.
Batch 1 and 8. The paths are measured in interleaved rounds (every round runs
each path once, in an order rotated every round) and the median per-image time is reported, so machine noise
hits all paths alike.

    python bench/inference_speed.py [--model runs/.../best.safetensors] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from weaksal.inference.export import export_onnx
from weaksal.inference.runtimes import OnnxRuntime
from weaksal.models import create_model, load_model, save_model

SPEC = {
    "architecture": "snet",
    "backbone": "efficientnet_lite0",
    "input_size": 256,
    "freeze_bn": True,
}


def timed(function, repeats: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, help="model file (default: ImageNet backbone, fresh head)"
    )
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp())
    if args.model:
        model, spec = load_model(args.model)
        model_file = args.model
    else:
        model, spec = create_model(SPEC).eval(), SPEC
        model_file = workdir / "snet.safetensors"
        save_model(model_file, model, spec)
    onnx_file = export_onnx(model_file, workdir / "snet.onnx")
    onnx = OnnxRuntime(onnx_file)
    model_cl = create_model(spec, pretrained="none").eval()
    model_cl.load_state_dict(model.state_dict())
    model_cl = model_cl.to(memory_format=torch.channels_last)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for batch in (1, 8):
        x = torch.rand(batch, 3, 256, 256)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        x_np = x.numpy()

        def bf16(m=model_cl, inp=x_cl):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return m(inp)

        paths = {
            "backbone (eager)": lambda x=x: model.encoder.forward_image(x),
            "full model (eager)": lambda x=x: model(x),
            "channels_last": lambda x_cl=x_cl: model_cl(x_cl),
            "bf16 autocast + channels_last": bf16,
            "ONNX Runtime": lambda x_np=x_np: onnx.logits(x_np),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        with torch.inference_mode():
            for function in paths.values():  # warm-up
                function()
            names = list(paths)
            for round_index in range(args.rounds):
                # rotate the order every round: no path always runs first (cold caches, thread wake-up)
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    times[name].append(timed(paths[name]) / batch)
        median = {name: statistics.median(values) * 1000 for name, values in times.items()}
        eager = median["full model (eager)"]
        print(f"\nbatch {batch}: median ms per image over {args.rounds} interleaved rounds")
        for name, ms in median.items():
            print(f"  {name:32s} {ms:8.1f} ms   {eager / ms:5.2f}x eager")
        head = median["full model (eager)"] / median["backbone (eager)"] - 1
        print(f"  head cost on top of the backbone: {100 * head:.1f}%")
        if not np.isfinite(head):
            raise SystemExit("non-finite timing")


if __name__ == "__main__":
    main()
