"""SSNet's config sections and their defaults: the paper's values, and where the released code differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from weaksal.engine.schema import (
    EngineSection,
    SaliencyModelSection,
    TrainSection,
    above,
    at_least,
    one_of,
    within,
)


@dataclass
class SSNetModel(SaliencyModelSection):
    """Both stages' backbone and decoder (``paper``: SSNet-1's FCN-8s at stride 16 and
    SSNet-2's dilated head at stride 8; ``fpn``/``unet``: the multi-scale decoders)."""


@dataclass
class SSNetData:
    # a VOC-layout tree (JPEGImages, SegmentationClass[Aug], ImageSets/Segmentation):
    # absolute, relative to the working folder, or under WEAKSAL_DATA
    segmentation: str = "runs/duts-seg"
    classification_split: str = "train_classification"  # images with class labels only
    val_split: str | None = "val"  # mIoU of every stage's model
    saliency: str = "DUTS-TR-50"  # images with saliency masks (no class)
    saliency_split: str | None = "train"
    # a list file in the segmentation tree's ImageSets/Segmentation restricting the saliency
    # images (make-seg's disjoint half); null: every image of the saliency split
    saliency_list: str | None = "train_saliency"


@dataclass
class SSNetTrain(TrainSection):
    """One stage's loop: Adam with the code's betas, lr * factor every ``lr_every`` steps.

    ``batch_size`` is per source (stage 1: 8 saliency + 8 classification images a step).
    """

    lr: float = above(0.0, 1e-4)
    head_lr_mult: float = above(0.0, 1.0)  # the code: one lr for every layer
    schedule: str = one_of("constant", "poly")  # on top of the step decay below
    betas: list[float] = field(default_factory=lambda: [0.95, 0.999])
    lr_every: int = at_least(1, 2000)  # the code: 2000 (stage 1), 3000 (stage 2)
    lr_factor: float = within(0.0, 1.0, 0.1)  # the code: 0.1 (stage 1), 0.5 (stage 2)
    reset_optimizer: bool = True  # stage 1's code re-creates Adam at every decay
    saliency_form: str = one_of("paper", "code")  # L_s1: BCE, or the code's NLL on probabilities
    rotate: float = at_least(0.0, 10.0)  # degrees, the code's augmentation
    crop: float = within(0.5, 1.0, 0.9)


@dataclass
class Stage1Train(SSNetTrain):
    steps: int = at_least(1, 2000)
    tasks: str = one_of("multi", "classification")  # multi: L_c + L_s1 (SSNet-M);
    # classification: L_c only (SSNet-S)


@dataclass
class Stage2Train(SSNetTrain):
    steps: int = at_least(1, 2000)
    # multi: L_s1 + L_s2 + BCE (SSNet-?M); segmentation: L_s2 + BCE (SSNet-?S); saliency:
    # L_s1 only (SSNet-2S)
    tasks: str = one_of("multi", "segmentation", "saliency")
    lr_every: int = at_least(1, 3000)
    lr_factor: float = within(0.0, 1.0, 0.5)
    reset_optimizer: bool = False
    augment_labels: bool = False  # the code trains on the pseudo-labels without augmentation


@dataclass
class SSNetLabels:
    preset: str = "ssnet"  # dense CRF preset of weaksal.refine.dense_crf
    # absent classes: paper (Sec. 3.4: probabilities x one-hot labels, so 0) | code (the
    # released code multiplies the logits: absent classes keep logit 0 and can win a pixel)
    absent: str = one_of("paper", "code")
    workers: int = at_least(1, 2)
    batch_size: int = at_least(1, 16)


SECTIONS = {
    "model": SSNetModel,
    "data": SSNetData,
    "stage1": Stage1Train,
    "labels": SSNetLabels,
    "stage2": Stage2Train,
    "engine": EngineSection,
}
