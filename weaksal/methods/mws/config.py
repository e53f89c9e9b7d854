"""MWS's config sections and their defaults: the paper's values, and where the released code differs."""

from __future__ import annotations

from dataclasses import dataclass

from weaksal.engine.schema import (
    BootstrapTrainSection,
    EngineSection,
    SaliencyModelSection,
    TrainSection,
    at_least,
    one_of,
    within,
)


@dataclass
class MWSModel(SaliencyModelSection):
    """``decoder`` is SNet's; ``attention_decoder`` CNet's and PNet's (``paper``: stride 16).

    Images are resized to ``input_size`` x ``input_size`` (256, as the code).
    """

    attention_decoder: str = "paper"
    feature_dim: int = 512  # attended features f and word embeddings
    hidden: int = 512  # PNet's LSTM


@dataclass
class MWSData:
    """The sources: each ``{dataset: NAME, split: SPLIT}``, a dataset name, or null (none)."""

    tags: dict | str | None = None  # null: no CNet (captions only)
    captions: dict | str | None = None  # null: no PNet (tags only)
    unlabelled: list | None = None  # null or []: no coherence stage
    pseudo_labels: dict | str = "DUTS-TR-50"  # the images SNet learns from
    validation: dict | str | None = None  # held-out images with masks scoring SNet (null: none)
    min_word_count: int = 4  # vocabulary: words seen at least this often (code: 4)
    max_caption_length: int = 20
    # a tagged image without tags would train CNet as "no class present": refused by name
    # (error), or left out, each named (skip)
    untagged: str = one_of("error", "skip")


@dataclass
class MWSWeights:
    beta: float = 0.005  # the regulariser of Eq. 5-6 (paper 0.005; the code's joint training
    # 5e-3), averaged over positions as the code
    transfer: float = 0.01  # lambda of L_at (paper)
    coherence: float = 0.01  # lambda of L_ac (paper; the code used 0.1)
    transfer_binarise: str | float = "2mean"  # 2mean (code: s >= 2x mean) | 0.5 (paper)


@dataclass
class MWSCoherence:
    segments: int = 200  # SLIC regions for the manifold ranking (code)
    compactness: float = 20.0
    seed_factor: float = 1.0  # seeds: regions >= factor x mean in both maps (paper 1; code 2)


@dataclass
class MWSLabels:
    refine: str = "densecrf"  # mean map -> dense CRF preset mws -> binary (any refiner)
    normalise: bool = True  # min-max the mean map per image first (the maps are not calibrated)
    threshold: float = 0.5  # for the refiners that take one
    workers: int = 2
    threshold_later: float = 0.5  # labels of later rounds: from SNet's map (refiners with one)
    refine_later: str | None = None  # their refiner (null: the same as ``refine``)
    min_foreground: float = within(0.0, 1.0, 0.0)  # label gate: SNet skips images whose
    max_foreground: float = within(0.0, 1.0, 1.0)  # label covers less / more of the image


@dataclass
class SNetTrain(BootstrapTrainSection):
    rounds: int = at_least(1, 1)  # self-training rounds: SNet's maps make the next labels


SECTIONS = {
    "model": MWSModel,
    "data": MWSData,
    "weights": MWSWeights,
    "coherence": MWSCoherence,
    "init": TrainSection,  # Adam at lr 1e-4 and batch_size per source, as the code
    "joint": TrainSection,  # the transfer and coherence stages, each from init
    "labels": MWSLabels,
    "snet": SNetTrain,
    "engine": EngineSection,
}
