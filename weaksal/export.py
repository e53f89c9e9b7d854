"""Export a trained model to ONNX, for ONNX Runtime inference (``predict --runtime onnx``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from weaksal.data.atomic import atomic_path
from weaksal.models import load_model


def export_onnx(model_path: str | Path, out: str | Path, opset: int = 18) -> Path:
    """Write ``out`` (.onnx): input ``rgb`` float ``(N, 3, S, S)`` in [0, 1], output ``logits``.

    The batch dimension is dynamic; the side ``S`` is the model's input size
    (recorded, with the rest of the spec, in the ONNX metadata).
    """
    model, spec = load_model(model_path)
    size = int(spec.get("input_size", 256))
    example = torch.rand(2, 3, size, size)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with atomic_path(out) as tmp:
        program = torch.onnx.export(
            model,
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

    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == "weaksal_spec":
            return json.loads(prop.value)
    from weaksal.errors import CheckpointError

    raise CheckpointError(
        path,
        "is not an ONNX model exported by weaksal (no spec in its metadata)",
        "export it with `weaksal export onnx`",
    )
