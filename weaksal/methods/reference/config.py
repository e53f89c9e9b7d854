"""The fully-supervised reference's config sections and their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from weaksal.engine.schema import (
    EngineSection,
    SaliencyModelSection,
    SupervisedData,
    TrainSection,
)


@dataclass
class ReferenceModel(SaliencyModelSection):
    architecture: str = "snet"  # any registered saliency architecture


SECTIONS = {
    "model": ReferenceModel,
    "data": SupervisedData,
    "train": TrainSection,  # Adam at lr 1e-4, as the MWS code (whose SNet it trains by default)
    "engine": EngineSection,
}
