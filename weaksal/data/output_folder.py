"""An output folder of maps that knows what made them: resume only the same work.

Commands that write one ``<stem>.png`` per image (``predict``, ``promote``,
``classic``, ``refine``) keep the maps already there, so that a killed run
resumes. That is only right when those maps came from the same model and
settings: the folder carries a small run record (``.weaksal-output.json``:
the producer and a hash of it), written before the first map. A folder made by
something else, or holding images nobody recorded, is refused with the fix
(``--overwrite``, or another folder); so is an output folder that is one of the
input folders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from weaksal.data.imageio import is_image_file
from weaksal.plumbing.atomic import clean_stale_temporaries, write_json
from weaksal.plumbing.errors import LayoutError

RECORD = ".weaksal-output.json"


def producer_hash(producer: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(producer, sort_keys=True, default=str).encode()).hexdigest()


def prepare_output_folder(
    out: str | Path,
    producer: Mapping[str, Any],
    inputs: Iterable[str | Path] = (),
    overwrite: bool = False,
    outputs: Iterable[str] = (),
) -> Path:
    """Make ``out`` ready for ``producer``'s maps; returns it.

    ``producer`` names what makes the maps (command, model file hash,
    settings that change them). ``outputs`` are the file names this run will
    write: with ``overwrite`` those already there are removed first, so a
    killed overwrite resumes exactly like any other run.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LayoutError(out, "is a file, not a folder", "pass a folder (new or empty) as --out")
    for folder in inputs:
        folder = Path(folder)
        if folder.is_dir() and out.exists() and out.resolve() == folder.resolve():
            raise LayoutError(
                out,
                "is also an input folder: maps would mix with the inputs and be taken as done",
                "pass another --out folder",
            )
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out)
    record = {"producer": dict(producer), "hash": producer_hash(producer)}
    record_file = out / RECORD
    previous = _read_record(record_file)
    if not overwrite:
        if previous is not None and previous.get("hash") != record["hash"]:
            raise LayoutError(
                out,
                f"holds maps made by {_describe(previous.get('producer'))}, not by"
                f" {_describe(producer)}",
                "pass --overwrite to replace them, or another --out folder",
            )
        if previous is None:
            strangers = [p.name for p in out.iterdir() if is_image_file(p)]
            if strangers:
                raise LayoutError(
                    out,
                    f"already holds {len(strangers)} images that no weaksal run recorded"
                    f" (e.g. {strangers[0]})",
                    "pass --overwrite to replace the maps of the same names, or another --out folder",
                )
    else:
        for name in outputs:
            (out / name).unlink(missing_ok=True)
    if previous != record:
        write_json(record_file, record)
    return out


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"producer": "an unreadable run record", "hash": None}
    return record if isinstance(record, dict) else {"producer": "an unreadable run record"}


def _describe(producer: Any) -> str:
    if not isinstance(producer, Mapping):
        return str(producer)
    return ", ".join(
        f"{key} {str(value)[:12] if key.endswith('sha256') else value}"
        for key, value in producer.items()
    )
