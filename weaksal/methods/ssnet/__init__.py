"""SSNet (Zeng et al., ICCV 2019): joint saliency and weakly-supervised segmentation; its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.ssnet.config import SECTIONS
from weaksal.methods.ssnet.pipeline import train

register_method(
    "ssnet",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("final.safetensors", "saliency")},
    table_rows={
        "SSNet-1": ["stage1/final.safetensors"],
        "SSNet-2": ["stage2/final.safetensors"],
    },
    about="SSNet (Zeng et al., ICCV 2019): segmentation from class labels + saliency masks",
    supervision=(
        "class labels of one half of DUTS-TR-50's training images and pixel saliency masks"
        " of the other half (as the paper's MM setting); no segmentation masks"
    ),
    limitations=(
        "Its segmentation knows the 50 DUTS-TR-50 classes only (index 0 is background). It"
        " reads pixel saliency masks for half of its images, so it is not mask-free. Its"
        " saliency maps are soft (high MAE for their max F): threshold them for masks."
    ),
    default_config="ssnet/ssnet_fpn_efficientnet_lite0.yaml",
)
