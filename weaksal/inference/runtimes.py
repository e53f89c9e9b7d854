"""From images to saliency maps with a trained network (PyTorch or ONNX Runtime).

Both runtimes see the same input: each image resized to the model's square
input with :func:`~weaksal.data.datasets.resize_square`, RGB in [0, 1]; the
sigmoid of the logits is resized back to the image's own size (bilinear). Segmentation
networks also give class-index maps (:func:`segment_images`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from weaksal.data.datasets import resize_square
from weaksal.plumbing.devices import resolve_device
from weaksal.plumbing.errors import CheckpointError


def to_batch(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """``float32 (N, 3, size, size)`` in [0, 1] from RGB ``uint8`` images of any sizes."""
    batch = np.stack([resize_square(image, size) for image in images]).astype(np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2)) / np.float32(255.0)


def maps_at_original_size(
    probabilities: np.ndarray, shapes: Sequence[tuple[int, int]]
) -> list[np.ndarray]:
    """Resize each ``(size, size)`` probability map back to its image's ``(H, W)``."""
    return [
        np.clip(cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        for p, (h, w) in zip(probabilities, shapes, strict=True)
    ]


def weights_sha256(model: torch.nn.Module) -> str:
    """A hash of a network's parameters and buffers: the identity of the maps it makes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class TorchRuntime:
    """Eager PyTorch over a network's ``Outputs.saliency``; ``channels_last`` optional (faster on many CPUs)."""

    def __init__(
        self,
        model: torch.nn.Module,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def logits(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x).saliency.float().cpu().numpy()

    def identity(self) -> dict[str, str]:
        """What makes this runtime's maps: the runtime and a hash of the weights."""
        return {"runtime": "torch", "weights_sha256": weights_sha256(self.model)}


class OnnxRuntime:
    """ONNX Runtime session of a model written by :func:`weaksal.inference.export.export_onnx`."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = [
            p
            for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in ort.get_available_providers()
        ]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own classes for a file it cannot use
            raise CheckpointError(
                path,
                f"is not an ONNX model ONNX Runtime can run ({str(exc).splitlines()[0][:200]})",
                "export it with `weaksal export onnx --model MODEL.safetensors --out model.onnx`",
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.path = Path(path)

    def identity(self) -> dict[str, str]:
        from weaksal.plumbing.digest import file_sha256

        return {"runtime": "onnx", "model_sha256": file_sha256(self.path)}

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def predict_images(runtime, images: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    """Saliency maps in [0, 1] (float32, each at its image's size) for a list of RGB images."""
    probabilities = sigmoid(runtime.logits(to_batch(images, size)))[:, 0]
    return maps_at_original_size(probabilities, [image.shape[:2] for image in images])


class SegmentationRuntime:
    """Eager PyTorch over a network's ``Outputs.segmentation``: class-index maps and names."""

    def __init__(self, model: torch.nn.Module, classes: Sequence[str], device="cpu") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.names = ["background", *classes]

    def segment(self, images: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
        return segment_images(self.model, images, size, self.device)

    def identity(self) -> dict[str, str]:
        return {"runtime": "torch", "task": "seg", "weights_sha256": weights_sha256(self.model)}


@torch.inference_mode()
def segment_images(
    model: torch.nn.Module,
    images: Sequence[np.ndarray],
    size: int,
    device: str | torch.device = "cpu",
) -> list[np.ndarray]:
    """Class-index maps ``uint8 (H, W)`` of a segmentation network, each at its image's size.

    The logits are up-sampled bilinearly to the image before the argmax, so
    boundaries are placed at full resolution.
    """
    x = torch.from_numpy(to_batch(images, size)).to(device)
    logits = model(x).segmentation.float()
    maps = []
    for one, image in zip(logits, images, strict=True):
        full = F.interpolate(one[None], size=image.shape[:2], mode="bilinear", align_corners=False)[
            0
        ]
        maps.append(full.argmax(dim=0).to(torch.uint8).cpu().numpy())
    return maps
