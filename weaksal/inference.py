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
from weaksal.devices import resolve_device
from weaksal.errors import CheckpointError, WeaksalError


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
    """ONNX Runtime session of a model written by :func:`weaksal.export.export_onnx`."""

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
        from weaksal.digest import file_sha256

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


def certainty(maps: torch.Tensor) -> torch.Tensor:
    """Mean ``|2 p - 1|`` of each ``(N, 1, H, W)`` map: 0 all grey, 1 all black or white."""
    return (2.0 * maps.float() - 1.0).abs().mean(dim=(1, 2, 3))


def keeps_prior(gain: float, prior_certainty: float, gate: float | None, floor: float) -> bool:
    """The certainty gate's rule (:class:`Promoter`): leave the prior as it was when LPS
    gains less than ``gate`` certainty over it and it is at least ``floor`` certain."""
    return gate is not None and gain < gate and prior_certainty >= floor


class Promoter:
    """An LPS model ready to promote: device, optional bf16 autocast, the test-time settings.

    ``gate``: leave a prior as it was when LPS's map is not more certain than
    it by at least ``gate`` (``certainty(promoted) - certainty(prior) < gate``)
    and the prior itself is at least ``gate_floor`` certain. A strong
    detector's map is already nearly binary; where LPS only redraws it with its
    own errors it gains no certainty, while a weak prior (a classical map, grey
    almost everywhere) gains a lot. The floor promotes every prior that is not
    itself nearly binary, whatever its gain (0: the gain alone decides). For
    the images of the last :meth:`maps` call, ``gains`` holds that certainty
    gain and ``prior_certainty`` the prior's (both at the network's input
    size), and ``left`` whether the prior was returned unchanged.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        size: int,
        iterations: int = 3,
        regions: str = "soft",
        threshold: float = 0.5,
        device: str | torch.device = "cpu",
        bf16: bool = False,
        gate: float | None = None,
        gate_floor: float = 0.0,
    ) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        if regions not in ("soft", "binary"):
            raise ValueError(f"regions must be 'soft' or 'binary', not {regions!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if not 0.0 <= gate_floor <= 1.0:
            raise ValueError(f"gate_floor must be in [0, 1], got {gate_floor}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.size = size
        self.iterations = iterations
        self.regions = regions
        self.threshold = threshold
        self.bf16 = bf16
        self.gate = gate
        self.gate_floor = gate_floor
        self.gains: list[float] = []
        self.prior_certainty: list[float] = []
        self.left: list[bool] = []

    def identity(self) -> dict:
        """What makes the promoted maps: weights, input size and test-time settings."""
        return {
            "weights_sha256": weights_sha256(self.model),
            "input_size": self.size,
            "iterations": self.iterations,
            "regions": self.regions,
            "threshold": self.threshold if self.regions == "binary" else None,
            "bf16": self.bf16,
            "gate": self.gate,
            "gate_floor": self.gate_floor if self.gate is not None else None,
        }

    @classmethod
    def from_file(cls, model: str | Path, **settings) -> Promoter:
        """An LPS model file (``weaksal.promote.open_promoter`` also takes shipped names).

        The gate and its floor are the file's own (calibrated when it was trained)
        unless ``settings`` give them (``gate=None`` switches the gate off).
        """
        from weaksal.models import load_model

        network, spec = load_model(model, settings.get("device", "cpu"))
        if spec["task"] != "promote":
            raise WeaksalError(
                f"{model}: a {spec['task']} model, not a promoter (LPS). Fix: pass an LPS model "
                "(`weaksal train lps`), or use `weaksal predict` for this one"
            )
        own = {"gate": spec.get("gate"), "gate_floor": spec.get("gate_floor") or 0.0}
        for key, value in own.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise CheckpointError(
                    model,
                    f"spec key {key!r} is {value!r}, not a number",
                    f"re-save it with a numeric {key}",
                )
        if not 0.0 <= own["gate_floor"] <= 1.0:
            raise CheckpointError(
                model,
                f"spec key 'gate_floor' is {own['gate_floor']!r}, outside [0, 1]",
                "re-save it with a certainty between 0 and 1",
            )
        return cls(network, int(spec["input_size"]), **{**own, **settings})

    def maps(
        self,
        images: Sequence[np.ndarray],
        priors: Sequence[np.ndarray],
        history: list[list[np.ndarray]] | None = None,
    ) -> list[np.ndarray]:
        """Promoted maps in [0, 1] at each image's size; priors are ``uint8`` grey of any size.

        ``history``, when given, receives for each ``t = 0..T`` the list of
        maps ``Y(t)`` (``Y(0)`` is the prior as the network sees it).
        """
        rgb = torch.from_numpy(to_batch(images, self.size)).to(self.device)
        prior = np.stack([resize_square(p, self.size) for p in priors]).astype(np.float32) / 255.0
        prior_t = torch.from_numpy(prior[:, None]).to(self.device)
        steps: list[torch.Tensor] | None = [] if history is not None else None
        autocast = torch.autocast(self.device.type, torch.bfloat16, enabled=self.bf16)
        with torch.inference_mode(), autocast:
            result = self.model.promote(
                rgb, prior_t, self.iterations, self.regions, self.threshold, steps
            )
        shapes = [image.shape[:2] for image in images]
        if history is not None:
            for step in steps:
                history.append(maps_at_original_size(step[:, 0].float().cpu().numpy(), shapes))
        promoted = maps_at_original_size(result[:, 0].float().cpu().numpy(), shapes)
        before = certainty(prior_t)
        self.gains = (certainty(result) - before).tolist()
        self.prior_certainty = before.tolist()
        self.left = [
            keeps_prior(gain, sure, self.gate, self.gate_floor)
            for gain, sure in zip(self.gains, self.prior_certainty, strict=True)
        ]
        if self.gate is None:
            return promoted
        as_given = maps_at_original_size(
            [np.asarray(p, np.float32) / np.float32(255.0) for p in priors], shapes
        )  # a prior of the image's size comes back unchanged, another size is resized
        return [
            prior if keep else one
            for prior, one, keep in zip(as_given, promoted, self.left, strict=True)
        ]
