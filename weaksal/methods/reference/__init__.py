"""The fully-supervised reference (a saliency network on pixel masks); its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.reference.config import SECTIONS
from weaksal.methods.reference.pipeline import train

register_method(
    "reference",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("best.safetensors", "saliency")},  # chosen on val
    table_rows={"reference": ["best.safetensors"]},
    about="the fully-supervised reference: a saliency network on pixel masks",
    supervision="pixel saliency masks (fully supervised): the upper bound of a budget",
    limitations=(
        "Trained on DUTS-TR-50's 4,236 training images only (50 ImageNet classes), at one"
        " square input size; it is the yardstick of the weakly-supervised models, not a"
        " state-of-the-art detector."
    ),
    default_config="reference/fpn_efficientnet_lite2.yaml",
)
