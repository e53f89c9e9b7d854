"""Export a trained model to ONNX, for ONNX Runtime inference (``predict --runtime onnx``)."""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from weaksal.models import load_model, makes_saliency_from_rgb
from weaksal.plumbing.atomic import atomic_path
from weaksal.plumbing.errors import WeaksalError


class SaliencyLogits(nn.Module):
    """A network's ``Outputs.saliency`` as a plain tensor: the exported graph's one output."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.network(rgb).saliency


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's notes that do not concern the user.

    torch's ONNX exporter logs one warning per torchvision operator it cannot
    register (torchvision is not a dependency: no model uses its operators) and
    pytree emits a deprecation ``FutureWarning`` from inside torch.
    """
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            yield
    finally:
        registration.setLevel(level)


def export_onnx(model_path: str | Path, out: str | Path, opset: int = 18) -> Path:
    """Write ``out`` (.onnx): input ``rgb`` float ``(N, 3, S, S)`` in [0, 1], output ``logits``.

    The batch dimension is dynamic; the side ``S`` is the model's input size
    (recorded, with the rest of the spec, in the ONNX metadata).
    """
    model, spec = load_model(model_path)
    if not makes_saliency_from_rgb(spec):
        raise WeaksalError(
            f"{model_path}: a {spec['task']} model reading {spec['inputs']}; ONNX export covers"
            " saliency from RGB. Fix: export a saliency model (weaksal train ... final.safetensors)"
        )
    size = int(spec.get("input_size", 256))
    example = torch.rand(2, 3, size, size)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with atomic_path(out) as tmp, _quiet_exporter():
        program = torch.onnx.export(
            SaliencyLogits(model).eval(),
            (example,),
            dynamo=True,
            input_names=["rgb"],
            output_names=["logits"],
            dynamic_shapes={"rgb": {0: batch}},
            opset_version=opset,
            optimize=True,
            verbose=False,
        )
        program.model.metadata_props["weaksal_spec"] = json.dumps(spec)
        program.save(str(tmp))
    return Path(out)


def onnx_spec(path: str | Path) -> dict:
    """The weaksal spec stored in an exported model's metadata."""
    import onnx

    from weaksal.plumbing.errors import CheckpointError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
        raise CheckpointError(
            path,
            f"is not an ONNX file ({type(exc).__name__})",
            "export it with `weaksal export onnx --model MODEL.safetensors --out model.onnx`",
        ) from None
    for prop in model.metadata_props:
        if prop.key == "weaksal_spec":
            return json.loads(prop.value)
    raise CheckpointError(
        path,
        "is not an ONNX model exported by weaksal (no spec in its metadata)",
        "export it with `weaksal export onnx`",
    )
