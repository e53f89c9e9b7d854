"""The MWS diagnostics quoted in BENCHMARKS.md: what the attention maps look like.

* map statistics of CNet and PNet after ``init`` on 16 held-out DUTS-TR-50
  images (images only): mean, peak / mean, share of positions >= 2x the mean;
* foreground fraction of the dense-CRF labels made from the raw mean map and
  from the per-image normalised mean map, on the same images (no masks);
* mean map value on objects and on background for the shipped WSS and MWS
  models on the first 10 ECSSD images (reporting).

    python bench/mws_diagnostics.py --run runs/mws-lite0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from weaksal.data import index_saliency, read_image, read_mask
from weaksal.data.sources import dataset_path, source_samples
from weaksal.inference.runtimes import TorchRuntime, predict_images, to_batch
from weaksal.models import MapAverage, load_model
from weaksal.pretrained import resolve_model
from weaksal.refine.dense_crf import refine_saliency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--images", type=int, default=16)
    args = parser.parse_args()
    samples = source_samples({"dataset": "DUTS-TR-50", "split": "val"})[: args.images]
    images = [read_image(s.image) for s in samples]
    batch = torch.from_numpy(to_batch(images, 256))
    networks = {
        name: load_model(args.run / "init" / f"{name}.safetensors")[0] for name in ("cnet", "pnet")
    }
    for name, network in networks.items():
        with torch.no_grad():
            maps = torch.sigmoid(network(batch).coarse.float())
        mean = maps.mean(dim=(1, 2, 3))
        peak = maps.amax(dim=(1, 2, 3))
        share = (maps >= 2 * mean.view(-1, 1, 1, 1)).float().mean()
        print(
            f"init {name}: mean {mean.mean():.4f}, peak/mean {(peak / mean).mean():.1f},"
            f" positions >= 2x mean {share:.3f}"
        )
    for label, normalise in (("raw", False), ("normalised", True)):
        runtime = TorchRuntime(MapAverage(list(networks.values()), normalise).eval())
        fractions = [
            float((refine_saliency(image, saliency, "mws") > 127).mean())
            for image, saliency in zip(images, predict_images(runtime, images, 256), strict=True)
        ]
        print(f"CRF labels from the {label} mean map: foreground fraction {np.mean(fractions):.3f}")
    ecssd = list(index_saliency(dataset_path("ECSSD")))[:10]
    for name in ("wss", "mws"):
        model, spec = load_model(resolve_model(name))
        runtime = TorchRuntime(model)
        inside, outside = [], []
        for sample in ecssd:
            saliency = predict_images(runtime, [read_image(sample.image)], spec["input_size"])[0]
            mask = read_mask(sample.mask) > 127
            inside.append(saliency[mask].mean())
            outside.append(saliency[~mask].mean())
        print(
            f"shipped {name} on 10 ECSSD images: objects {np.mean(inside):.2f}, background {np.mean(outside):.2f}"
        )


if __name__ == "__main__":
    main()
