"""Networks by name, composed as encoder + decoder + head(s), and the single-file format they ship in.

One file per network family (``snet``, ``wss``, ``lps``, ``mws``), each
registering its architectures with :func:`register_model`: builder, task
contract and spec defaults in one place. A new family is one new file here
(found by itself) plus a config.

>>> spec = {"architecture": "snet", "backbone": "efficientnet_lite0", "decoder": "fpn"}
>>> model = create_model(spec)                  # ImageNet backbone, fresh decoder and head
>>> model(torch.rand(1, 3, 256, 256)).saliency.shape
torch.Size([1, 1, 256, 256])
>>> save_model("m.safetensors", model, spec); model, spec = load_model("m.safetensors")

Every network takes float RGB in [0, 1] ``(N, 3, H, W)`` (LPS also a prior
map) and returns :class:`Outputs`; what it is for is in its spec (``task``,
``inputs``, ``outputs``: see ``weaksal.models._outputs``).
"""

from weaksal.models._ensemble import MapAverage
from weaksal.models._format import FORMAT, load_model, read_spec, save_model
from weaksal.models._outputs import INPUTS, TASKS, Outputs
from weaksal.models._registry import MODELS, complete_spec, create_model, register_model


def makes_saliency_from_rgb(spec: dict) -> bool:
    """Whether a model file's network turns an image alone into a saliency map (``weaksal predict``)."""
    return spec.get("inputs") == "rgb" and "saliency" in spec.get("outputs", ())


__all__ = [
    "FORMAT",
    "INPUTS",
    "MODELS",
    "MapAverage",
    "TASKS",
    "Outputs",
    "complete_spec",
    "create_model",
    "load_model",
    "makes_saliency_from_rgb",
    "read_spec",
    "register_model",
    "save_model",
]
