"""``weaksal promote``: LPS turns any detector's saliency maps into better ones.

For every image of a folder, the prior map of the same stem (any size, any bit
depth: 8/16-bit PNG, JPEG, ...) gives the anchors of LPS's nearest-anchor
classifier; iterative testing refines them ``iterations`` times. Maps are
written as 8-bit PNG at each image's size. Like ``weaksal predict`` it is
batched, resumable (existing outputs are kept), sharded under ``torchrun``,
and reports images without a prior, or unreadable, by name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from weaksal.api.folders import FolderReport
from weaksal.data.imageio import read_image, read_prediction
from weaksal.data.layouts import files_by_stem, index_images
from weaksal.data.output_folder import prepare_output_folder
from weaksal.data.pairs import check_map_shape
from weaksal.inference.promoter import Promoter
from weaksal.plumbing.atomic import write_png
from weaksal.plumbing.errors import LayoutError, WeaksalError


def open_promoter(model: str | Path, **settings) -> Promoter:
    """A :class:`~weaksal.inference.promoter.Promoter` for a shipped model's name or an LPS model file."""
    from weaksal.pretrained import resolve_model

    return Promoter.from_file(resolve_model(model, role="promote"), **settings)


def promote_folder(
    promoter: Promoter,
    images: str | Path,
    priors: str | Path,
    out: str | Path,
    batch_size: int = 8,
    shard: tuple[int, int] | None = None,
    progress: Callable | None = None,
    overwrite: bool = False,
) -> FolderReport:
    """Write ``out/<stem>.png`` for every image of ``images`` with a prior in ``priors``.

    Maps already in ``out`` are kept only when its run record names the same
    promoter, settings and prior folder (see :mod:`weaksal.data.output_folder`).
    """
    from weaksal.plumbing.parallel import shard_from_env

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rank, world = shard if shard is not None else shard_from_env()
    priors = Path(priors)
    if not priors.is_dir():
        raise LayoutError(priors, "is not a folder", "point --prior at the folder of prior maps")
    prior_files = files_by_stem(priors)
    samples = index_images(images).samples[rank::world]
    out = prepare_output_folder(
        out,
        {"command": "promote", **promoter.identity(), "priors": str(priors.resolve())},
        [images, priors],
        overwrite,
        [f"{s.stem}.png" for s in samples],
    )
    report = FolderReport(shard=(rank, world))
    todo = []
    for sample in samples:
        if sample.stem not in prior_files:
            report.missing.append(sample.stem)
        elif (out / f"{sample.stem}.png").exists():
            report.kept.append(sample.stem)
        else:
            todo.append(sample)
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    ticks = iter(progress(range(len(todo)), len(todo))) if progress else iter(())
    for chunk in chunks:  # the bar counts images: one tick per image once its batch is done
        loaded, arrays, maps = [], [], []
        for sample in chunk:
            try:
                image, prior = read_image(sample.image), read_prediction(prior_files[sample.stem])
                check_map_shape(prior_files[sample.stem], prior.shape, image.shape, "prior")
            except WeaksalError as exc:
                report.failed.append((sample.image.name, str(exc)))
                continue
            loaded.append(sample)
            arrays.append(image)
            maps.append(prior)
        promoted = promoter.maps(arrays, maps) if loaded else []
        gated = getattr(promoter, "left", None) or [False] * len(promoted)  # any maps() object
        for sample, saliency, left in zip(loaded, promoted, gated, strict=True):
            write_png(out / f"{sample.stem}.png", np.round(saliency * 255).astype(np.uint8))
            report.done.append(sample.stem)
            if left:
                report.left_as_prior.append(sample.stem)
        for _ in chunk:
            next(ticks, None)
    for _ in ticks:  # a bar ends at its total, then closes
        pass
    return report
