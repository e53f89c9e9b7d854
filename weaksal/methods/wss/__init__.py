"""WSS (Wang et al., CVPR 2017): saliency from image-level tags; its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.wss.config import SECTIONS
from weaksal.methods.wss.pipeline import train

register_method(
    "wss",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("final.safetensors", "saliency")},
    table_rows={
        "FIN1": ["stage1/stage1.safetensors"],
        "round I": ["round1/fcn.safetensors"],
        "round II": ["round2/fcn.safetensors"],
    },
    about="WSS (Wang et al., CVPR 2017): saliency from image-level tags",
    supervision="image-level class tags only (no pixel masks); ImageNet-initialised backbone",
    limitations=(
        "It learned saliency from 50 ImageNet classes: objects of other kinds, several objects,"
        " and scenes without a dominant object are found less well. Its pseudo-labels come from"
        " class activation maps refined by a CRF, so thin parts and object boundaries are the"
        " weakest. Maps are computed at the network's square input size and resized back."
    ),
    default_config="wss/wss_fpn_efficientnet_lite0.yaml",
)
