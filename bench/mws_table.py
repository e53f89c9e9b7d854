"""MWS's Table 1 on ECSSD and SOD: Cls, Cap, Avg, +AT, +AC, Sal, every metric.

Cls / Cap are CNet / PNet after the ``init`` stage (each trained on its own
source), Avg their mean map; +AT and +AC are the mean maps of the two
networks after the ``transfer`` and ``coherence`` stages; Sal is SNet. The
shipped WSS model and the MR detector are scored beside them. Maps are cached
under ``<run>/bench/<row>/<set>/`` (re-runs keep them); the table goes to the
``components`` key of ``<run>/eval.json``.

    python bench/mws_table.py --run runs/mws-lite0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import HEADER, row, score

from weaksal.classic.files import write_detector_maps
from weaksal.data.discover import open_dataset
from weaksal.data.imageio import read_mask
from weaksal.data.sources import dataset_path
from weaksal.inference.runtimes import TorchRuntime
from weaksal.methods import get_method
from weaksal.methods.pseudo_labels import write_coarse_maps
from weaksal.models import load_model
from weaksal.plumbing.atomic import write_json, write_png
from weaksal.pretrained import resolve_model

SETS = ("ECSSD", "SOD")


def network_maps(model_file: Path, out: Path) -> Path:
    """``out/<set>/<stem>.png``: one network's maps on every set (kept if present)."""
    model, spec = load_model(model_file)
    for name in SETS:
        samples = open_dataset(dataset_path(name)).samples
        write_coarse_maps(TorchRuntime(model), [spec["input_size"]], samples, out / name)
    return out


def mean_maps(folders: list[Path], out: Path) -> Path:
    """``out/<set>/<stem>.png``: the pixel-wise mean of several networks' maps."""
    for name in SETS:
        (out / name).mkdir(parents=True, exist_ok=True)
        for path in sorted((folders[0] / name).glob("*.png")):
            if (out / name / path.name).exists():
                continue
            maps = [read_mask(f / name / path.name).astype(np.float32) for f in folders]
            write_png(out / name / path.name, np.round(np.mean(maps, axis=0)).astype(np.uint8))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cache = args.run / "bench"
    folders: dict[str, Path] = {}
    for label, files in get_method("mws").table_rows.items():
        if not all((args.run / f).exists() for f in files):
            continue
        parts = [
            network_maps(args.run / f, cache / f.replace("/", "-").removesuffix(".safetensors"))
            for f in files
        ]
        folders[label] = parts[0] if len(parts) == 1 else mean_maps(parts, cache / label)
    folders["WSS (shipped)"] = network_maps(resolve_model("wss"), cache / "wss")
    for name in SETS:
        write_detector_maps(
            "mr", open_dataset(dataset_path(name)).samples, cache / "mr" / name, args.workers
        )
    folders["MR"] = cache / "mr"
    table = {
        label: {name: score(folder / name, name, args.workers) for name in SETS}
        for label, folder in folders.items()
    }
    eval_file = args.run / "eval.json"
    record = json.loads(eval_file.read_text()) if eval_file.exists() else {}
    record["components"] = table
    write_json(eval_file, record)
    for name in SETS:
        print(f"\n{name}\n| row {HEADER}\n|---|---|---|---|---|---|---|---|")
        for label, scores in table.items():
            print(row([label], scores[name]))


if __name__ == "__main__":
    main()
