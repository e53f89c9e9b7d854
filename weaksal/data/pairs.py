"""Are an image and its mask (or depth map, or prior) the same size? Checked once, before training.

A mask whose size differs from its image (rotated, half-size, another
image's) would be resized to the network's square input on its own and
become wrong supervision without a word. Every pair is checked from the file
headers before the first step, in parallel for big datasets, and the sizes
are cached by (path, byte size, modification time), so a resumed or repeated
run re-reads only the files that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from weaksal.data.imageio import image_size
from weaksal.data.layouts import Sample
from weaksal.plumbing.atomic import write_json
from weaksal.plumbing.errors import ConfigError, SizeMismatchError
from weaksal.plumbing.parallel import worker_pool
from weaksal.plumbing.paths import cache_root

ON_MISMATCH = ("error", "skip")
_POOL_ABOVE = 2000  # files; below this, spawning processes costs more than it saves


@dataclass(frozen=True)
class Mismatch:
    path: Path  # the mask (or depth map) at fault
    problem: str


def size_problem(
    kind: str, shape: tuple[int, int], image_shape: tuple[int, int], image_name: str = ""
) -> str:
    """``"mask is WxH but its image [NAME ]is WxH[ (looks rotated by 90 degrees)]"``: one wording."""
    (height, width), (image_h, image_w) = tuple(shape[:2]), tuple(image_shape[:2])
    rotated = " (looks rotated by 90 degrees)" if (height, width) == (image_w, image_h) else ""
    named = f"{image_name} " if image_name else ""
    return f"{kind} is {width}x{height} but its image {named}is {image_w}x{image_h}{rotated}"


def _key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _sizes(paths: list[Path], workers: int) -> dict[Path, tuple[int, int]]:
    """(height, width) of every file, from the cache where it is still valid."""
    cache_file = (
        cache_root()
        / "image_sizes"
        / (
            hashlib.sha1(
                str(sorted({str(p.parent.resolve()) for p in paths})).encode()
            ).hexdigest()[:16]
            + ".json"
        )
    )
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    keys = {path: _key(path) for path in paths}
    todo = [path for path in paths if keys[path] not in cached]
    if workers > 1 and len(todo) > _POOL_ABOVE:
        with worker_pool(workers) as pool:
            found = list(pool.map(image_size, todo, chunksize=256))
    else:
        found = [image_size(path) for path in todo]
    for path, size in zip(todo, found, strict=True):
        cached[keys[path]] = list(size)
    if todo:
        try:
            write_json(cache_file, cached)
        except OSError:
            pass  # a read-only home only costs the next run a re-read
    return {path: tuple(cached[keys[path]]) for path in paths}


def find_mismatches(
    samples: Sequence[Sample], kinds: Sequence[str] = ("mask",), workers: int | None = None
) -> list[Mismatch]:
    """Every sample whose ``kinds`` files differ in size from its image."""
    workers = workers or min(4, os.cpu_count() or 1)
    paths = [s.image for s in samples] + [
        s.file(kind) for s in samples for kind in kinds if s.file(kind) is not None
    ]
    sizes = _sizes(paths, workers)
    found = []
    for sample in samples:
        for kind in kinds:
            other = sample.file(kind)
            if other is None or sizes[other] == sizes[sample.image]:
                continue
            problem = size_problem(kind, sizes[other], sizes[sample.image], sample.image.name)
            found.append(Mismatch(other, problem))
    return found


def aligned_samples(
    samples: Sequence[Sample],
    kinds: Sequence[str] = ("mask",),
    on_mismatch: str = "error",
    workers: int | None = None,
) -> tuple[list[Sample], list[Mismatch]]:
    """``samples`` whose files all match their image's size, and the mismatches left out.

    ``on_mismatch="error"`` (the default) refuses the first mismatch by name;
    ``"skip"`` leaves the mismatched samples out and returns them to report.
    """
    if on_mismatch not in ON_MISMATCH:
        raise ConfigError(
            "config",
            f"data.on_mismatch is {on_mismatch!r}",
            f"choose one of {', '.join(ON_MISMATCH)}",
        )
    mismatches = find_mismatches(samples, kinds, workers)
    if mismatches and on_mismatch == "error":
        first = mismatches[0]
        more = f" ({len(mismatches) - 1} more pairs too)" if len(mismatches) > 1 else ""
        raise SizeMismatchError(
            first.path,
            first.problem + more,
            "fix or remove the file (`weaksal data check` lists every such pair), or set"
            " data.on_mismatch=skip to train without these samples (they are reported)",
        )
    bad = {m.path for m in mismatches}
    kept = [s for s in samples if not any(s.file(kind) in bad for kind in kinds)]
    return kept, mismatches


#: a map may be smaller than its image (some detectors write low-resolution maps),
#: but its shape must be the image's, up to this relative difference in aspect ratio
ASPECT_TOLERANCE = 0.05


def check_map_shape(
    path: Path, shape: tuple[int, int], image_shape: tuple[int, int], kind: str = "map"
) -> None:
    """Refuse a map that cannot belong to its image: rotated, or of another aspect ratio.

    Maps of the image's size or scaled copies of it (any detector's low-resolution
    output) pass; they are resized to the image where used.
    """
    (height, width), (image_h, image_w) = shape[:2], image_shape[:2]
    if (height, width) == (image_h, image_w):
        return
    aspect, image_aspect = width / height, image_w / image_h
    if abs(aspect / image_aspect - 1.0) <= ASPECT_TOLERANCE:
        return
    raise SizeMismatchError(
        path,
        size_problem(kind, shape, image_shape),
        f"write each {kind} at its image's size (weaksal predict and classic do), or a scaled"
        " copy of the same aspect ratio",
    )
