"""LPS's config sections and their defaults: the paper's values, and where the released code differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from weaksal.engine.schema import (
    EngineSection,
    SaliencyModelSection,
    SupervisedData,
    TrainSection,
    at_least,
    within,
)
from weaksal.methods.lps.gate import TOLERANCE


@dataclass
class LPSModel(SaliencyModelSection):
    """The paper's layout is ``output_stride: 8, embed_stride: 1``; see the config for the CPU's."""

    output_stride: int = 8  # paper decoder: 8 = last two blocks dilated (paper), 16 = the last
    channels: int = 64  # C, per-block sub-pixel output (paper)
    embed_dim: int = 512  # D, the metric space (paper)
    region: str = "conv"  # conv | fc region embedding (Fig. 4)
    embed_stride: int = 2  # paper decoder: 1 embeds every input pixel (paper)


@dataclass
class LPSValidation:
    prior: str = "mr"  # classical detector whose val maps are promoted to pick checkpoints
    iterations: int = 1
    limit: int = 0  # first N val images (0: all)
    workers: int = 2


@dataclass
class LPSTrain(TrainSection):
    """Adam at lr 1e-4 for the backbone, 10x (1e-3) for the new layers: the released code's."""

    flip_probability: float = within(0.0, 1.0, 0.05)  # p of Alg. 1: mask with pixels flipped
    detector_share: float = within(0.0, 1.0, 0.0)  # images whose prior is first given a


@dataclass
class LPSGate:
    """The certainty gate (:mod:`weaksal.methods.lps_gate`), calibrated on the val split."""

    priors: list[str] = field(default_factory=list)  # detectors or saliency model files whose
    # val maps calibrate it ([]: no gate); a model must not have been trained on val images
    candidates: list[float] = field(default_factory=lambda: [-0.1, 0.0, 0.05, 0.1, 0.2, 0.3])
    floors: list[float] = field(default_factory=lambda: [0.0])  # prior certainty from which the
    # gate applies (0: every prior; weaker priors are always promoted); tried with every candidate
    tolerance: float = at_least(0.0, TOLERANCE)  # a change this small counts as none (val noise)
    iterations: int = at_least(1, 3)  # T of the promotion it is calibrated for (the CLI's)
    workers: int = at_least(1, 2)


SECTIONS = {
    "model": LPSModel,
    "data": SupervisedData,
    "validation": LPSValidation,
    "train": LPSTrain,
    "gate": LPSGate,
    "engine": EngineSection,
}
