"""LPS (Zeng et al., CVPR 2018): promotes any detector's maps; its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.lps.config import SECTIONS
from weaksal.methods.lps.pipeline import train

register_method(
    "lps",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("final.safetensors", "promote")},
    about="LPS (Zeng et al., CVPR 2018): promotes any detector's maps",
    supervision="pixel saliency masks of DUTS-TR-50's training split (LPS is trained fully)",
    limitations=(
        "A promoter, not a detector: it needs another detector's map of the same image."
        " It lifts weak (classical) maps most; a strong detector's map can come out worse,"
        " which the certainty gate (when the model has one) guards against by leaving such"
        " maps as they were. Classes outside DUTS-TR-50's 50 are less well promoted."
    ),
    default_config="lps/lps_fpn_efficientnet_lite0.yaml",  # the shipped model's (issue 18)
)
