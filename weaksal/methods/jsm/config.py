"""JSM's config sections and their defaults: the paper's values, and where the released code differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from weaksal.engine.schema import (
    EngineSection,
    SaliencyModelSection,
    above,
    at_least,
    one_of,
    within,
)


@dataclass
class JSMModel(SaliencyModelSection):
    """The saliency network's (and the depth network's) backbone, decoder and input size
    (256; the code: 352)."""

    decoder: str = "fpn"  # fpn | unet: JSM's CPD-ResNet50 cannot be had here


@dataclass
class JSMData:
    # RGB-D sets in the real layouts (images + depth [+ fake_mask] + caption/CapS.csv):
    # absolute, relative to the working folder, or under WEAKSAL_DATA
    train: str = "runs/rgbd-synth/train"
    val: str = "runs/rgbd-synth/val"  # detector choice and model selection (RGB + masks)
    test: str | None = "runs/rgbd-synth/test"  # reported after training, RGB only
    train_limit: int = at_least(0, 0)  # the first N training scenes (0: all); the ablation's


@dataclass
class JSMInitial:
    # detector: the best of ``detectors`` on the validation scenes; prior: the training
    # set's own fake_mask (CapS); ground_truth: the masks (the fully-supervised variant)
    source: str = one_of("detector", "prior", "ground_truth")
    detectors: list[str] = field(default_factory=lambda: ["mr", "mbplus", "rbd", "ft", "sr"])
    workers: int = at_least(1, 2)


@dataclass
class JSMTrain:
    epochs: int = at_least(1, 59)  # the code: 59
    batch_size: int = at_least(1, 10)
    lr: float = above(0.0, 1e-4)  # every network, one Adam each (the code)
    clamp: float | None = above(0.0, 0.5)  # gradients clamped to +-clamp (the code)
    flip: bool = True
    rotate: float = at_least(0.0, 15.0)  # degrees, applied with probability rotate_prob
    rotate_prob: float = within(0.0, 1.0, 0.2)
    crop: float = within(0.5, 1.0, 0.92)  # the code's random crop with border 30 of ~376 px
    colour: bool = True  # brightness, contrast 0.5-1.5, colour 0-2, sharpness 0-3


@dataclass
class JSMUpdate:
    every: int = at_least(0, 5)  # tau: epochs between label updates; 0: never (the code: 5)
    confidence: str = one_of("tsm", "equal")  # equal: g = d = 0.5 (no text)
    preset: str = "jsm"  # dense CRF preset of the update


@dataclass
class JSMSSM:
    """Spatial semantic modelling: the depth network on RGB (false: no depth network, D = 0)."""

    enabled: bool = True
    threshold: float = within(0.0, 1.0, 0.05)  # the code's binarisation of the smoothed map


@dataclass
class JSMText:
    # word vectors: minilm (frozen token embeddings of all-MiniLM-L6-v2) | learned
    embedding: str = one_of("minilm", "learned")


SECTIONS = {
    "model": JSMModel,
    "data": JSMData,
    "initial": JSMInitial,
    "train": JSMTrain,
    "update": JSMUpdate,
    "ssm": JSMSSM,
    "text": JSMText,
    "engine": EngineSection,
}
