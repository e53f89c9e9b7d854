"""LPS's promoter at test time: a trained LPS model, its iterative testing and its certainty
gate, ready to promote any detector's maps (Zeng et al., CVPR 2018)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from weaksal.data.datasets import resize_square
from weaksal.inference.runtimes import maps_at_original_size, to_batch, weights_sha256
from weaksal.plumbing.devices import resolve_device
from weaksal.plumbing.errors import CheckpointError, WeaksalError


def certainty(maps: torch.Tensor) -> torch.Tensor:
    """Mean ``|2 p - 1|`` of each ``(N, 1, H, W)`` map: 0 all grey, 1 all black or white."""
    return (2.0 * maps.float() - 1.0).abs().mean(dim=(1, 2, 3))


def keeps_prior(gain: float, prior_certainty: float, gate: float | None, floor: float) -> bool:
    """The certainty gate's rule (:class:`Promoter`): leave the prior as it was when LPS
    gains less than ``gate`` certainty over it and it is at least ``floor`` certain."""
    return gate is not None and gain < gate and prior_certainty >= floor


class Promoter:
    """An LPS model ready to promote: device, optional bf16 autocast, the test-time settings.

    ``gate``: leave a prior as it was when LPS's map is not more certain than
    it by at least ``gate`` (``certainty(promoted) - certainty(prior) < gate``)
    and the prior itself is at least ``gate_floor`` certain. A strong
    detector's map is already nearly binary; where LPS only redraws it with its
    own errors it gains no certainty, while a weak prior (a classical map, grey
    almost everywhere) gains a lot. The floor promotes every prior that is not
    itself nearly binary, whatever its gain (0: the gain alone decides). For
    the images of the last :meth:`maps` call, ``gains`` holds that certainty
    gain and ``prior_certainty`` the prior's (both at the network's input
    size), and ``left`` whether the prior was returned unchanged.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        size: int,
        iterations: int = 3,
        regions: str = "soft",
        threshold: float = 0.5,
        device: str | torch.device = "cpu",
        bf16: bool = False,
        gate: float | None = None,
        gate_floor: float = 0.0,
    ) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        if regions not in ("soft", "binary"):
            raise ValueError(f"regions must be 'soft' or 'binary', not {regions!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if not 0.0 <= gate_floor <= 1.0:
            raise ValueError(f"gate_floor must be in [0, 1], got {gate_floor}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.size = size
        self.iterations = iterations
        self.regions = regions
        self.threshold = threshold
        self.bf16 = bf16
        self.gate = gate
        self.gate_floor = gate_floor
        self.gains: list[float] = []
        self.prior_certainty: list[float] = []
        self.left: list[bool] = []

    def identity(self) -> dict:
        """What makes the promoted maps: weights, input size and test-time settings."""
        return {
            "weights_sha256": weights_sha256(self.model),
            "input_size": self.size,
            "iterations": self.iterations,
            "regions": self.regions,
            "threshold": self.threshold if self.regions == "binary" else None,
            "bf16": self.bf16,
            "gate": self.gate,
            "gate_floor": self.gate_floor if self.gate is not None else None,
        }

    @classmethod
    def from_file(cls, model: str | Path, **settings) -> Promoter:
        """An LPS model file (``weaksal.api.promote.open_promoter`` also takes shipped names).

        The gate and its floor are the file's own (calibrated when it was trained)
        unless ``settings`` give them (``gate=None`` switches the gate off).
        """
        from weaksal.models import load_model

        network, spec = load_model(model, settings.get("device", "cpu"))
        if spec["task"] != "promote":
            raise WeaksalError(
                f"{model}: a {spec['task']} model, not a promoter (LPS). Fix: pass an LPS model "
                "(`weaksal train lps`), or use `weaksal predict` for this one"
            )
        own = {"gate": spec.get("gate"), "gate_floor": spec.get("gate_floor") or 0.0}
        for key, value in own.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise CheckpointError(
                    model,
                    f"spec key {key!r} is {value!r}, not a number",
                    f"re-save it with a numeric {key}",
                )
        if not 0.0 <= own["gate_floor"] <= 1.0:
            raise CheckpointError(
                model,
                f"spec key 'gate_floor' is {own['gate_floor']!r}, outside [0, 1]",
                "re-save it with a certainty between 0 and 1",
            )
        return cls(network, int(spec["input_size"]), **{**own, **settings})

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
        promoted = maps_at_original_size(result[:, 0].float().cpu().numpy(), shapes)
        before = certainty(prior_t)
        self.gains = (certainty(result) - before).tolist()
        self.prior_certainty = before.tolist()
        self.left = [
            keeps_prior(gain, sure, self.gate, self.gate_floor)
            for gain, sure in zip(self.gains, self.prior_certainty, strict=True)
        ]
        if self.gate is None:
            return promoted
        as_given = maps_at_original_size(
            [np.asarray(p, np.float32) / np.float32(255.0) for p in priors], shapes
        )  # a prior of the image's size comes back unchanged, another size is resized
        return [
            prior if keep else one
            for prior, one, keep in zip(as_given, promoted, self.left, strict=True)
        ]
