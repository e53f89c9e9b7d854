"""WSS's config sections and their defaults: the paper's values, and where the released code differs."""

from __future__ import annotations

from dataclasses import dataclass

from weaksal.engine.schema import (
    BootstrapTrainSection,
    EngineSection,
    SaliencyModelSection,
    TrainSection,
    one_of,
    within,
)


@dataclass
class WSSModel(SaliencyModelSection):
    """Both stages' backbone; ``decoder`` is stage 2's (the FCN), stage 1 is always the paper's.

    ``decoder: paper`` is the paper's FCN (FIN + skips, stride 16); ``fpn`` / ``unet`` the
    multi-scale decoders.
    """

    pooling: str = "gsp"  # gsp | gap | gmp (the paper's ablation)
    mu: float = 10.0  # GSP smoothness, paper and code
    score_channels: int = 512  # mid-level score maps of the FCN branch
    relu_cap: float | None = 7.0  # the Caffe model clips that ReLU at 7; null: plain ReLU


@dataclass
class TaggedData:
    train: str = "DUTS-TR-50"  # images with image-level tags (tags.csv or ImageNet synset names)
    train_split: str | None = "train"
    val_split: str | None = "val"  # the tags of these images validate stage 1
    # an image without tags would train as "no class present": refused by name (error), or
    # left out, each named (skip)
    untagged: str = one_of("error", "skip")


@dataclass
class Stage1Train(TrainSection):
    batch_size: int = 16
    l1_weight: float = 5e-4  # lambda of Eq. 6 on ||F||_1 per image (the code: 1e-5)
    negative_weight: float = 1.0  # weight of absent classes (the code: 0.02 over 200 classes)


@dataclass
class WSSLabels:
    refine: str = (
        "itercrf"  # any refiner of weaksal.refine.refiners: itercrf (WSS) | densecrf | threshold
    )
    threshold_round1: float = 0.65  # the FIN map above it starts as foreground (code: fore_thr)
    threshold_later: float = 0.4  # round II started from the FCN map above 0.4
    workers: int = 2
    sizes: list[int] | None = None  # round I: input sizes whose stage-1 maps are averaged
    flip: bool = False  # round I: also average the mirror images' maps (null sizes: model's)
    later_sizes: list[int] | None = None  # later rounds, the FCN's maps: the same (null: one
    later_flip: bool = False  # view at the model's input size, as the paper)
    min_foreground: float = within(0.0, 1.0, 0.0)  # label gate: rounds skip images whose
    max_foreground: float = within(0.0, 1.0, 1.0)  # label covers less / more of the image


@dataclass
class Stage2Train(BootstrapTrainSection):
    rounds: int = 2  # self-training rounds, each from the stage-1 weights


SECTIONS = {
    "model": WSSModel,
    "data": TaggedData,
    "stage1": Stage1Train,
    "labels": WSSLabels,
    "stage2": Stage2Train,
    "engine": EngineSection,
}
