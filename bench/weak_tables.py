"""Issue 18's tables: MR, the reference, every weakly-supervised model and LPS promotions, on ECSSD and SOD.

Each row is ``NAME=SOURCE``:

- ``classic:DETECTOR`` - a classical detector (``mr``, ``rbd``...);
- a saliency model file (``.safetensors``) or a shipped model's name;
- ``promote:LPS_MODEL:ROW[:GATE]`` - another row's maps promoted by an LPS
  model (T = 3) under the model's own certainty gate, or ``GATE`` (a number,
  or ``off``); how many maps the gate left as they were is printed beside
  the row.

Maps are cached under ``OUT/maps/<row>/<set>/`` (a re-run scores what is
there: delete a row's folder after changing its source) and scored in both
max-F conventions; ``OUT/tables.json`` keeps every number, written after each
row, with the seconds (wall) and CPU seconds (this process and its workers)
that making the row's maps took when they were made.

    python bench/weak_tables.py --out runs/weak-tables \\
        --row "MR=classic:mr" \\
        --row "WSS (issue 6)=runs/shipped-before/wss/model.safetensors" \\
        --row "LPS(MR)=promote:runs/lps-fpn/final.safetensors:MR"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from common import score

from weaksal.api.promote import promote_folder
from weaksal.data.discover import open_dataset
from weaksal.data.sources import dataset_path
from weaksal.inference.promoter import Promoter
from weaksal.methods.pseudo_labels import write_source_maps
from weaksal.plumbing.atomic import write_json

SETS = ("ECSSD", "SOD")
COLUMNS = ("maxF pooled", "maxF", "MAE", "S")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def make_maps(source: str, name: str, folder: Path, rows: dict[str, Path], workers: int) -> dict:
    """Write row ``source``'s maps of benchmark ``name`` into ``folder``; returns notes."""
    if source.startswith("promote:"):
        _, model, prior_row, *gate = source.split(":")
        settings = {"gate": None if gate[0] == "off" else float(gate[0])} if gate else {}
        promoter = Promoter.from_file(model, iterations=3, **settings)  # no GATE: the model's
        report = promote_folder(promoter, dataset_path(name), rows[prior_row] / name, folder)
        if report.failed or report.missing:
            raise SystemExit(f"{source} on {name}: {report.failed[:3]} {report.missing[:3]}")
        notes = {"promoted": len(report.done) + len(report.kept)}
        if promoter.gate is not None and report.done:  # counted when the maps are made
            notes["left_as_prior"] = len(report.left_as_prior)
        return notes
    detector_or_model = source.removeprefix("classic:")
    write_source_maps(detector_or_model, open_dataset(dataset_path(name)).samples, folder, workers)
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--row", action="append", required=True, help="NAME=SOURCE (see above)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows: dict[str, Path] = {}
    table: dict = (
        json.loads((args.out / "tables.json").read_text())
        if (args.out / "tables.json").exists()
        else {}
    )
    for entry in args.row:
        name, source = entry.split("=", 1)
        rows[name] = args.out / "maps" / slug(name)
        for benchmark in SETS:
            folder = rows[name] / benchmark
            wall, cpu, before = time.perf_counter(), _cpu_seconds(), _map_count(folder)
            notes = make_maps(source, benchmark, folder, rows, args.workers)
            previous = table.get(benchmark, {}).get(name, {})
            if _map_count(folder) > before or "map_seconds" not in previous:  # made now
                notes["map_seconds"] = time.perf_counter() - wall
                notes["map_cpu_seconds"] = _cpu_seconds() - cpu
            for key in ("left_as_prior", "map_seconds", "map_cpu_seconds"):
                if key not in notes and key in previous:
                    notes[key] = previous[key]  # counted when the maps were first made
            table.setdefault(benchmark, {})[name] = {
                "source": source,
                **score(folder, benchmark, args.workers),
                **notes,
            }
            print(
                benchmark,
                name,
                {k: round(table[benchmark][name][k], 3) for k in COLUMNS},
                flush=True,
            )
            args.out.mkdir(parents=True, exist_ok=True)
            write_json(args.out / "tables.json", table)
    for benchmark in SETS:
        print(
            f"\n**{benchmark}**\n| row | max F (pooled) | max F (mean curve) | MAE | S | gate kept |"
            " maps, CPU min |"
        )
        print("|---|---|---|---|---|---|---|")
        for name in rows:
            r = table[benchmark][name]
            kept = f"{r['left_as_prior']} / {r['promoted']}" if "left_as_prior" in r else "-"
            cells = " | ".join(f"{r[k]:.3f}" for k in COLUMNS)
            print(f"| {name} | {cells} | {kept} | {r['map_cpu_seconds'] / 60:.1f} |")


def _map_count(folder: Path) -> int:
    return len(list(folder.glob("*.png"))) if folder.is_dir() else 0


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished workers."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


if __name__ == "__main__":
    main()
