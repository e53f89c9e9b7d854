"""``weaksal promote``: LPS turns any detector's saliency maps into better ones.

For every image of a folder, the prior map of the same stem (any size, any bit
depth: 8/16-bit PNG, JPEG, ...) gives the anchors of LPS's nearest-anchor
classifier; iterative testing refines them ``iterations`` times. Maps are
written as 8-bit PNG at each image's size. Like ``weaksal predict`` it is
batched, resumable (existing outputs are kept), sharded under ``torchrun``,
and reports images without a prior, or unreadable, by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from weaksal.data.atomic import write_png
from weaksal.data.datasets import resize_square
from weaksal.data.imageio import read_image, read_prediction
from weaksal.data.layouts import files_by_stem, index_images
from weaksal.data.output_folder import prepare_output_folder
from weaksal.data.pairs import check_map_shape
from weaksal.errors import LayoutError, WeaksalError
from weaksal.inference import maps_at_original_size, to_batch, weights_sha256


@dataclass
class PromoteReport:
    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing_prior: list[str] = field(default_factory=list)
    shard: tuple[int, int] = (0, 1)


class Promoter:
    """An LPS model ready to promote: device, optional bf16 autocast, the test-time settings."""

    def __init__(
        self,
        model: torch.nn.Module,
        size: int,
        iterations: int = 3,
        regions: str = "soft",
        threshold: float = 0.5,
        device: str | torch.device = "cpu",
        bf16: bool = False,
    ) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        if regions not in ("soft", "binary"):
            raise ValueError(f"regions must be 'soft' or 'binary', not {regions!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.size = size
        self.iterations = iterations
        self.regions = regions
        self.threshold = threshold
        self.bf16 = bf16

    def identity(self) -> dict:
        """What makes the promoted maps: weights, input size and test-time settings."""
        return {
            "weights_sha256": weights_sha256(self.model),
            "input_size": self.size,
            "iterations": self.iterations,
            "regions": self.regions,
            "threshold": self.threshold if self.regions == "binary" else None,
            "bf16": self.bf16,
        }

    @classmethod
    def from_file(cls, model: str | Path, **settings) -> Promoter:
        from weaksal.models import load_model
        from weaksal.pretrained import resolve_model

        network, spec = load_model(
            resolve_model(model, role="promote"), settings.get("device", "cpu")
        )
        if spec["task"] != "promote":
            raise WeaksalError(
                f"{model}: a {spec['task']} model, not a promoter (LPS). Fix: pass an LPS model "
                "(`weaksal train lps`), or use `weaksal predict` for this one"
            )
        return cls(network, int(spec["input_size"]), **settings)

    def maps(
        self,
        images: Sequence[np.ndarray],
        priors: Sequence[np.ndarray],
        history: list[list[np.ndarray]] | None = None,
    ) -> list[np.ndarray]:
        """Promoted maps in [0, 1] at each image's size; priors are ``uint8`` grey of any size.

        ``history``, when given, receives for each ``t = 0..T`` the list of
        maps ``Y(t)`` (``Y(0)`` is the prior as the network sees it).
        """
        rgb = torch.from_numpy(to_batch(images, self.size)).to(self.device)
        prior = np.stack([resize_square(p, self.size) for p in priors]).astype(np.float32) / 255.0
        prior_t = torch.from_numpy(prior[:, None]).to(self.device)
        steps: list[torch.Tensor] | None = [] if history is not None else None
        autocast = torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16)
        with torch.inference_mode(), autocast:
            result = self.model.promote(
                rgb, prior_t, self.iterations, self.regions, self.threshold, steps
            )
        shapes = [image.shape[:2] for image in images]
        if history is not None:
            for step in steps:
                history.append(maps_at_original_size(step[:, 0].float().cpu().numpy(), shapes))
        return maps_at_original_size(result[:, 0].float().cpu().numpy(), shapes)


def promote_folder(
    promoter: Promoter,
    images: str | Path,
    priors: str | Path,
    out: str | Path,
    batch_size: int = 8,
    shard: tuple[int, int] | None = None,
    progress: Callable | None = None,
    overwrite: bool = False,
) -> PromoteReport:
    """Write ``out/<stem>.png`` for every image of ``images`` with a prior in ``priors``.

    Maps already in ``out`` are kept only when its run record names the same
    promoter, settings and prior folder (see :mod:`weaksal.data.output_folder`).
    """
    from weaksal.predict import shard_from_env

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
    report = PromoteReport(shard=(rank, world))
    todo = []
    for sample in samples:
        if sample.stem not in prior_files:
            report.missing_prior.append(sample.stem)
        elif (out / f"{sample.stem}.png").exists():
            report.kept.append(sample.stem)
        else:
            todo.append(sample)
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    for chunk in progress(chunks, len(chunks)) if progress else chunks:
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
        if not loaded:
            continue
        for sample, saliency in zip(loaded, promoter.maps(arrays, maps), strict=True):
            write_png(out / f"{sample.stem}.png", np.round(saliency * 255).astype(np.uint8))
            report.done.append(sample.stem)
    return report
