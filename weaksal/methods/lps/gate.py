"""Calibrating LPS's certainty gate on held-out images (issue 18).

LPS trained on masks promotes weak priors a lot, but can redraw a strong
detector's nearly right map with its own errors. The
:class:`~weaksal.inference.promoter.Promoter` gate leaves a prior as it was when the
promoted map is not more certain than it by at least ``gate`` (certainty =
mean ``|2p - 1|``) and the prior is at least ``floor`` certain itself. Which
``gate`` and ``floor`` are chosen here, on the ``val`` split only: the maps
of each calibration prior (classical detectors, and saliency models that
never saw these images) are promoted, and for every candidate pair the
gated maps are scored (max F, mean curve, and MAE). The floor exists
because a gain threshold that guards a strong detector's maps also keeps
weak maps that LPS would improve (on val, 11% of MR's with the fpn LPS at
gate 0.02: nearly black maps, certain and wrong); those are seldom as
certain as a strong detector's.

A candidate is safe when no prior's max F or MAE gets worse than the
prior's own by more than ``tolerance`` (0.001 by default: less than one
image's worth on the 449 val images, where one image's F moving by 0.5
moves the mean by 0.0011); the safe candidate with the largest summed gain
wins (``None``, no gate, is a candidate too). When none is safe, the one
whose worst change is least bad (ties: the earlier candidate). Without the
tolerance, a gate that kept a strong detector's max F 0.0002 below its own
(and its MAE better) lost to one that switched promotion off for two thirds
of the weak priors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from weaksal.data.imageio import read_image, read_mask, read_prediction
from weaksal.data.layouts import Sample
from weaksal.inference.promoter import Promoter, keeps_prior
from weaksal.methods.pseudo_labels import write_source_maps
from weaksal.metrics.evaluator import SaliencyEvaluator

#: a change of a val score this small counts as none (the module docstring says why)
TOLERANCE = 0.001


def source_folder(source: str) -> str:
    """A folder name for a calibration prior: the detector's name or the model path, flattened."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_")


def promoted_with_gains(
    promoter: Promoter, samples: Sequence[Sample], priors: Path, batch_size: int = 8
) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """Per image: (prior, promoted map, the promoter's certainty gain, the prior's
    certainty), maps ``uint8``."""
    if promoter.gate is not None:
        raise ValueError("calibrate with an ungated promoter")
    out = []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        given = [read_prediction(priors / f"{s.stem}.png") for s in chunk]
        maps = promoter.maps([read_image(s.image) for s in chunk], given)
        for prior, promoted, gain, sure in zip(
            given, maps, promoter.gains, promoter.prior_certainty, strict=True
        ):
            out.append((prior, np.round(promoted * 255).astype(np.uint8), gain, sure))
    return out


def gated_scores(
    samples: Sequence[Sample],
    results: list[tuple[np.ndarray, np.ndarray, float, float]],
    gate,
    floor: float = 0.0,
) -> dict[str, float]:
    """Max F (mean curve), MAE and the share of priors kept, under ``gate`` (None: off)
    applied from prior certainty ``floor``."""
    evaluator = SaliencyEvaluator(maxf="mean", structure=False)
    kept = 0
    for sample, (prior, promoted, gain, sure) in zip(samples, results, strict=True):
        keep = keeps_prior(gain, sure, gate, floor)
        kept += keep
        evaluator.step(prior if keep else promoted, read_mask(sample.mask), sample.stem)
    scores = evaluator.results()
    return {"maxf": scores["maxf"], "mae": scores["mae"], "kept": kept / len(samples)}


def choose_gate(
    before: dict[str, dict], after: dict[Any, dict[str, dict]], tolerance: float = TOLERANCE
) -> Any:
    """The candidate of ``after`` (gate -> prior -> scores) by the rule of the module docstring."""

    def changes(gate) -> list[float]:
        return [
            delta
            for prior, scores in after[gate].items()
            for delta in (
                scores["maxf"] - before[prior]["maxf"],
                before[prior]["mae"] - scores["mae"],
            )
        ]

    safe = [gate for gate in after if min(changes(gate)) >= -tolerance]
    if safe:
        return max(safe, key=lambda gate: sum(changes(gate)))
    return max(after, key=lambda gate: min(changes(gate)))


def calibrate(
    promoter: Promoter,
    samples: Sequence[Sample],
    sources: Sequence[str],
    candidates: Sequence[float],
    folder: Path,
    workers: int,
    tolerance: float = TOLERANCE,
    floors: Sequence[float] = (0.0,),
) -> dict[str, Any]:
    """Promote each source's val maps, score every (candidate gate, floor) pair, choose
    one (JSON-able: pairs are named ``"GATE@FLOOR"``)."""
    pairs = [(float(c), float(f)) for c in candidates for f in floors]
    before, after = {}, {None: {}, **{pair: {} for pair in pairs}}
    for source in sources:
        maps = write_source_maps(source, samples, folder / source_folder(source), workers)
        results = promoted_with_gains(promoter, samples, maps)
        plain = SaliencyEvaluator(maxf="mean", structure=False)
        for sample, (prior, *_) in zip(samples, results, strict=True):
            plain.step(prior, read_mask(sample.mask), sample.stem)
        scores = plain.results()
        before[source] = {"maxf": scores["maxf"], "mae": scores["mae"]}
        for pair in after:
            gate, floor = pair if pair is not None else (None, 0.0)
            after[pair][source] = gated_scores(samples, results, gate, floor)
    chosen = choose_gate(before, after, tolerance)
    gate, floor = chosen if chosen is not None else (None, 0.0)
    return {
        "images": len(samples),
        "priors": before,
        "candidates": {
            "None" if pair is None else f"{pair[0]}@{pair[1]}": scores
            for pair, scores in after.items()
        },
        "tolerance": tolerance,
        "gate": gate,
        "gate_floor": floor,
    }
