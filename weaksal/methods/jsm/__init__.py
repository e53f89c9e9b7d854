"""JSM (Li, Ji et al., NeurIPS 2021): weakly-supervised RGB-D saliency; its entry in the table of methods."""

from weaksal.methods._registry import Shipped, register_method
from weaksal.methods.jsm.config import SECTIONS
from weaksal.methods.jsm.pipeline import train

register_method(
    "jsm",
    train=train,
    sections=SECTIONS,
    shipped={"model.safetensors": Shipped("final.safetensors", "saliency")},
    table_rows={"JSM": ["final.safetensors"]},
    about="JSM (Li, Ji et al., NeurIPS 2021): RGB-D saliency from depth, captions, handcrafted labels",
    supervision=(
        "handcrafted (classical) initial labels, depth and captions of synthetic RGB-D scenes"
        " (no pixel masks); at test time RGB only"
    ),
    limitations=(
        "Trained on synthetic RGB-D scenes (real objects pasted on real photos, synthetic"
        " depth): real depth sensors' faults are only imitated. The shipped network reads RGB"
        " only. In the measured ablation the depth (SSM) and text (TSM) modules added less than"
        " one seed's spread; the label updates carry the gain."
    ),
    default_config="jsm/jsm_efficientnet_lite0.yaml",
)
