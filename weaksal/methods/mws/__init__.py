"""MWS (Zeng et al., CVPR 2019): saliency from tags, captions and unlabelled images; its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.mws.config import SECTIONS
from weaksal.methods.mws.pipeline import train

register_method(
    "mws",
    train=train,
    sections=SECTIONS,
    shipped={
        "model.safetensors": Shipped("final.safetensors", "saliency"),
        "pnet.safetensors": Shipped("coherence/pnet.safetensors", "caption"),
    },
    table_rows={  # the paper's Table 1: each row the mean map of these files of a run
        "Cls": ["init/cnet.safetensors"],
        "Cap": ["init/pnet.safetensors"],
        "Avg": ["init/cnet.safetensors", "init/pnet.safetensors"],
        "+AT": ["transfer/cnet.safetensors", "transfer/pnet.safetensors"],
        "+AC": ["coherence/cnet.safetensors", "coherence/pnet.safetensors"],
        "Sal": ["final.safetensors"],  # SNet as shipped: the round that validated best
    },
    about="MWS (Zeng et al., CVPR 2019): saliency from tags, captions and unlabelled images",
    supervision=(
        "image-level class tags, image captions and unlabelled images (no pixel masks);"
        " ImageNet-initialised backbone"
    ),
    limitations=(
        "The caption network learned from 159 captioned images (COCO-MINI): its vocabulary is"
        " a handful of words and `weaksal caption` mostly prints `<unk>`; its attention map"
        " still improves the first labels (binary F 0.835 vs 0.792 from tags alone). Tags"
        " cover 50 ImageNet classes. SNet's checkpoints and rounds were chosen on held-out"
        " DUTS-TR masks (449 val images), never on a benchmark."
    ),
    default_config="mws/mws_fpn_efficientnet_lite0.yaml",  # the shipped model's (issue 18)
)
