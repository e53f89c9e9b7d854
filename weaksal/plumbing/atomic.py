"""Atomic writes: a file appears complete or not at all.

Everything we write (maps, checkpoints, reports) goes to a temporary file in
the destination folder and is renamed into place, so a run killed half-way
never leaves a truncated file that a resumed run would take as finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

#: Suffix of the temporaries a write renames into place; one older than
#: STALE_AFTER_S was left by a killed writer and is removed by the next run.
TEMP_SUFFIX = ".part"
STALE_AFTER_S = 3600.0

#: Temporaries of this process not yet renamed into place; a worker ended by
#: SIGTERM removes them before it exits (see ``remove_open_temporaries``).
_OPEN_TEMPORARIES: set[Path] = set()


def current_umask() -> int:
    """The process umask (reading it means setting it; restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(path: Path, folder: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would have given it.

    ``mkstemp``/``mkdtemp`` create 0600 files and 0700 folders whatever the
    umask, so results would be unreadable by anyone else on a shared machine.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def clean_stale_temporaries(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove hidden ``.*.part`` files a killed write left in ``folder``; returns them.

    A temporary names its writer's process id (``.<name>.<pid>-<random>.part``): one whose
    writer is no longer running on this machine goes at once, so a rerun after a kill starts
    clean. One whose writer may still run (its process is alive, or the name holds no
    process id, e.g. from an older version or another machine sharing the folder) goes only
    when older than ``older_than_s``.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for entry in folder.iterdir():
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file():
                continue
            writer = _writer_pid(entry.name)
            dead = writer is not None and writer != os.getpid() and not _running(writer)
            if dead or now - entry.stat().st_mtime > older_than_s:
                entry.unlink()
                removed.append(entry)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def _writer_pid(name: str) -> int | None:
    """The process id in a temporary's name (``.<name>.<pid>-<random>.part``), if any."""
    match = re.search(r"\.(\d+)-[^.]*" + re.escape(TEMP_SUFFIX) + "$", name)
    return int(match.group(1)) if match else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_open_temporaries() -> None:
    """Delete the temporaries this process is writing (for a process about to be killed).

    A pool worker ended by SIGTERM dies at once, outside any ``except`` or
    ``finally``; without this its half-written temporary would stay until the
    next run's stale sweep, an hour later.
    """
    for tmp_path in list(_OPEN_TEMPORARIES):
        with contextlib.suppress(OSError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    _OPEN_TEMPORARIES.add(tmp_path)
    try:
        honour_umask(tmp_path)
        yield tmp_path
        honour_umask(tmp_path)  # writers that recreate the file (safetensors) set their own mode
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    finally:
        _OPEN_TEMPORARIES.discard(tmp_path)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: object) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 grey (H, W), colour (H, W, 3) or RGBA (H, W, 4) array as PNG, atomically."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_png expects uint8, got {array.dtype} for {path}")
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def write_palette_png(path: str | Path, labels: np.ndarray, palette: np.ndarray) -> None:
    """Write class indices ``uint8 (H, W)`` as a palette PNG (VOC's format), atomically.

    Viewers show the colours of ``palette`` (``(256, 3) uint8``); readers of
    label maps get the indices back.
    """
    labels = np.asarray(labels)
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise TypeError(
            f"write_palette_png expects uint8 (H, W), got {labels.dtype} {labels.shape}"
        )
    image = Image.fromarray(labels, mode="P")
    image.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
