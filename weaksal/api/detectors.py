"""Every detector behind one call: ``detector(image) -> float32 map in [0, 1]``.

A trained network (a shipped name such as ``wss``, or a ``.safetensors`` /
``.onnx`` file), a classical detector (``mr``, ``rbd``...), or either of them
followed by LPS promotion: one kind of object, one input convention (a path,
a PIL image or a numpy array, or a list of them) and one return convention
(``float32 (H, W)`` in [0, 1] at each image's own size). ``weaksal predict``
writes what these objects return, so the command line and Python agree.

>>> import weaksal
>>> wss = weaksal.load("wss")
>>> saliency = wss("photo.jpg")          # float32 (H, W) in [0, 1]
>>> better = weaksal.load("mr", promote="lps")(photo_array)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from weaksal.data.inputs import as_map, as_rgb
from weaksal.plumbing.errors import WeaksalError

#: what a detector accepts for one image
ImageLike = Union[str, Path, np.ndarray, "PIL.Image.Image"]  # noqa: F821


def _one_or_many(images) -> tuple[list, bool]:
    if isinstance(images, (list, tuple)):
        return list(images), True
    return [images], False


def _in_batches(
    images, batch_size: int, run, progress: bool = False
) -> np.ndarray | list[np.ndarray]:
    """``run`` over RGB batches of one image or a list; one result, or a list in order.

    ``progress``: a bar on standard error counting images (for long lists)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    items, many = _one_or_many(images)
    bar = None
    if progress and many:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="maps", unit="image", leave=False)
    out: list[np.ndarray] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        out += run([as_rgb(item) for item in chunk])
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return out if many else out[0]


class Detector(ABC):
    """A saliency detector: call it on one image (or a list) for float maps in [0, 1].

    Subclasses give :meth:`maps` (RGB ``uint8`` images in, maps out, same
    order) and :meth:`identity` (what makes the maps: written into an output
    folder's record so a resumed run never mixes two detectors' maps).
    """

    name: str = "detector"
    #: square side the network sees (None for classical detectors, which see the image)
    input_size: int | None = None
    #: what :meth:`maps` returns: ``saliency`` (float maps in [0, 1]) or ``classes``
    #: (uint8 class-index maps, :class:`Segmenter`); folder writers choose the file by it
    output: str = "saliency"
    #: for the last call, which maps LPS's gate left as the base detector made them
    left: Sequence[bool] = ()

    def __call__(self, images, batch_size: int = 8, progress: bool = False):
        """Map(s) ``float32 (H, W)`` in [0, 1] for one image or a list of them
        (``progress=True``: a bar counting the images of a long list)."""
        return _in_batches(images, batch_size, self.maps, progress)

    @abstractmethod
    def maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Maps of RGB ``uint8`` images, in order."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes the maps (recorded in an output folder's run record)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class NetworkDetector(Detector):
    """A trained saliency network on the torch or ONNX runtime (see :mod:`weaksal.inference`)."""

    def __init__(self, runtime, input_size: int, name: str) -> None:
        self.runtime = runtime
        self.input_size = input_size
        self.name = name

    def maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        from weaksal.inference.runtimes import predict_images

        return predict_images(self.runtime, list(images), self.input_size) if images else []

    def identity(self) -> dict[str, Any]:
        return {**self.runtime.identity(), "input_size": self.input_size}


class ClassicDetector(Detector):
    """A classical (unsupervised) detector of :mod:`weaksal.classic`, its maps scaled to [0, 1]."""

    def __init__(self, name: str) -> None:
        from weaksal.classic import get_detector

        self.name = name
        self.function = get_detector(name)

    def maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.function(image).astype(np.float32) / np.float32(255.0) for image in images]

    def identity(self) -> dict[str, Any]:
        return {"classic": self.name}


class Promotion:
    """LPS as a function: ``lps(image, prior) -> promoted map`` (one or lists of both).

    The prior is any detector's map (a path, ``uint8``, or float in [0, 1]).
    ``left`` tells, for the last call, which priors the certainty gate
    returned unchanged (see :class:`weaksal.inference.promoter.Promoter`).
    """

    def __init__(self, promoter, name: str = "lps") -> None:
        self.promoter = promoter
        self.name = name
        self.left: list[bool] = []

    def __call__(self, images, priors, batch_size: int = 8):
        items, many = _one_or_many(images)
        prior_items, many_priors = _one_or_many(priors)
        if many != many_priors or len(items) != len(prior_items):
            raise ValueError("give one prior per image (both single, or lists of one length)")
        maps, left = [], []
        for start in range(0, len(items), batch_size):
            rgbs = [as_rgb(item) for item in items[start : start + batch_size]]
            grey = [
                np.round(as_map(p) * 255.0).astype(np.uint8)
                for p in prior_items[start : start + batch_size]
            ]
            maps += self.promoter.maps(rgbs, grey)
            left += self.promoter.left
        self.left = left
        return maps if many else maps[0]

    def identity(self) -> dict[str, Any]:
        return {"promoter": self.name, **self.promoter.identity()}

    def __repr__(self) -> str:
        p = self.promoter
        return f"<Promotion {self.name} gate={p.gate} gate_floor={p.gate_floor}>"


class PromotedDetector(Detector):
    """A detector whose maps LPS promotes: ``load("mr", promote="lps")``."""

    def __init__(self, base: Detector, promotion: Promotion) -> None:
        self.base = base
        self.promotion = promotion
        self.name = f"{base.name}+{promotion.name}"
        self.input_size = base.input_size

    @property
    def left(self) -> list[bool]:  # type: ignore[override]
        """For the last call: which of the base detector's maps the gate kept as they were."""
        return self.promotion.left

    def maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not images:
            return []
        return self.promotion(list(images), self.base.maps(images), batch_size=len(images))

    def identity(self) -> dict[str, Any]:
        return {"detector": self.base.identity(), "promoted_by": self.promotion.identity()}


class Segmenter(Detector):
    """A segmentation network's class-index maps (SSNet): ``uint8 (H, W)`` at each image's size.

    The same protocol as every :class:`Detector` (call it on one image or a
    list; :meth:`maps`, :meth:`identity`), with ``output = "classes"``;
    ``names[i]`` is the class of index ``i`` (0 is the background).
    """

    output = "classes"

    def __init__(self, runtime, input_size: int, name: str) -> None:
        self.runtime = runtime
        self.input_size = input_size
        self.name = name
        self.names = runtime.names

    def maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.runtime.segment(list(images), self.input_size) if images else []

    def identity(self) -> dict[str, Any]:
        return {**self.runtime.identity(), "input_size": self.input_size}


@dataclass(frozen=True)
class ModelFile:
    """A model named once and resolved once: what the user called it, its file and its spec.

    ``name`` is the shipped model's name, or the file's stem; ``spec`` is the
    file's own (an ``.onnx`` export's metadata), so the wrapper is chosen
    without opening the file again.
    """

    name: str
    path: Path
    spec: dict[str, Any]

    @classmethod
    def resolve(cls, model: str | Path, role: str = "saliency") -> ModelFile:
        from weaksal.pretrained import resolve_model, shipped_names

        path = resolve_model(model, role)
        if path.suffix == ".onnx":
            from weaksal.inference.export import onnx_spec

            spec = {"task": "saliency", "inputs": "rgb", **onnx_spec(path)}
        else:
            from weaksal.models import read_spec

            spec = read_spec(path)
        name = str(model) if str(model) in shipped_names() else path.stem
        return cls(name, path, spec)


def classic_names() -> list[str]:
    from weaksal.classic import DETECTORS

    return list(DETECTORS)


def _network(model: ModelFile, device: str, runtime: str | None, channels_last: bool, threads):
    """A saliency network (any task whose outputs include an RGB-read saliency map)."""
    from weaksal.inference.runtimes import OnnxRuntime, TorchRuntime
    from weaksal.models import load_model, makes_saliency_from_rgb

    chosen = runtime or ("onnx" if model.path.suffix == ".onnx" else "torch")
    if chosen not in ("torch", "onnx"):
        raise ValueError(f"runtime must be 'torch' or 'onnx', not {chosen!r}")
    if chosen == "onnx":
        if model.path.suffix != ".onnx":
            raise WeaksalError(
                f"{model.path}: --runtime onnx needs an .onnx file. Fix: run "
                f"`weaksal export onnx --model {model.path} --out model.onnx` first"
            )
        size = int(model.spec.get("input_size", 256))
        return NetworkDetector(OnnxRuntime(model.path, threads), size, model.name)
    if model.path.suffix == ".onnx":
        raise WeaksalError(
            f"{model.path}: an ONNX file runs on ONNX Runtime. Fix: leave out --runtime torch"
            " (or use --runtime onnx)"
        )
    if not makes_saliency_from_rgb(model.spec):
        raise WeaksalError(
            f"{model.path}: a {model.spec['task']} model reading {model.spec['inputs']} gives no"
            " saliency map from an image. Fix: pass a saliency model"
        )
    network, spec = load_model(model.path, device)
    size = int(spec.get("input_size", 256))
    return NetworkDetector(TorchRuntime(network, device, channels_last), size, model.name)


def _segmenter(model: ModelFile, device: str, runtime: str | None, channels_last: bool, threads):
    """A segmentation network's class maps (torch runtime: the ONNX export holds saliency only)."""
    from weaksal.inference.runtimes import SegmentationRuntime
    from weaksal.models import load_model

    if runtime == "onnx" or model.path.suffix == ".onnx":
        raise WeaksalError("--task seg runs on the torch runtime. Fix: use --runtime torch")
    if "segmentation" not in model.spec.get("outputs", ()):
        raise WeaksalError(
            f"{model.path}: a {model.spec['task']} model gives no segmentation."
            " Fix: pass a segmentation model (ssnet) or leave out --task seg"
        )
    network, spec = load_model(model.path, device)
    engine = SegmentationRuntime(network, spec["classes"], device)
    return Segmenter(engine, int(spec["input_size"]), model.name)


def _promotion(model: ModelFile, device: str, runtime, channels_last, threads) -> Promotion:
    from weaksal.inference.promoter import Promoter

    return Promotion(Promoter.from_file(model.path, device=device), model.name)


def _refuse_caption(model: ModelFile, *options):
    raise WeaksalError(
        f"{model.path}: a caption network (MWS's PNet) gives captions, not maps."
        f" Fix: use `weaksal caption --model {model.name}`"
    )


#: (the file's task, what was asked for) -> the wrapper that opens it
WRAPPERS = {
    ("saliency", "saliency"): _network,
    ("segmentation", "saliency"): _network,  # SSNet's saliency output
    ("segmentation", "seg"): _segmenter,
    ("saliency", "seg"): _segmenter,  # refused by name: no segmentation output
    ("promote", "saliency"): _promotion,
    ("caption", "saliency"): _refuse_caption,
}


def open_promotion(model: str | Path = "lps", device: str = "cpu", **settings) -> Promotion:
    """A shipped LPS model's name or an LPS file as a :class:`Promotion` (settings: Promoter's)."""
    from weaksal.inference.promoter import Promoter

    resolved = ModelFile.resolve(model, "promote")
    return Promotion(Promoter.from_file(resolved.path, device=device, **settings), resolved.name)


def load(
    model: str | Path = "wss",
    *,
    task: str = "saliency",
    device: str = "cpu",
    promote: str | Path | None = None,
    runtime: str | None = None,
    channels_last: bool = False,
    threads: int | None = None,
):
    """A detector by name or file, ready to call on images.

    ``model``: a shipped model (``weaksal.list_models()``), a classical
    detector (``mr``, ``mbplus``, ``rbd``, ``ft``, ``sr``), a ``.safetensors``
    or ``.onnx`` file; an LPS model (``"lps"``) gives a :class:`Promotion`
    called as ``lps(image, prior)``. ``task="seg"``: a segmentation model's
    class-index maps (:class:`Segmenter`). ``promote``: an LPS model that
    promotes every map the detector makes. ``device``: ``cpu``, ``cuda``,
    ``mps`` or ``auto``. The name is resolved once; the file's task picks the
    wrapper (:data:`WRAPPERS`).
    """
    from weaksal.pretrained import shipped_names

    if task not in ("saliency", "seg"):
        raise WeaksalError(f"--task {task}: unknown. Fix: use saliency or seg")
    name = str(model)
    # A bare name of `weaksal models` always means the shipped model or detector, even when a
    # folder of that name lies in the working directory; a path says so (`./wss`, a suffix).
    named = isinstance(model, str) and (name in shipped_names() or name in classic_names())
    is_file = not named and (Path(name).suffix in (".safetensors", ".onnx") or Path(name).exists())
    if not is_file and name not in shipped_names() and name not in classic_names():
        raise WeaksalError(
            f"unknown model {name!r}. Fix: choose a shipped saliency model"
            f" ({', '.join(shipped_names('saliency'))}), a classical detector"
            f" ({', '.join(classic_names())}), or pass a .safetensors/.onnx model file"
        )
    if name in classic_names() and not is_file:
        if task == "seg":
            raise WeaksalError(
                f"{name}: a classical detector gives no segmentation. Fix: --model ssnet"
            )
        detector = ClassicDetector(name)
    else:
        role = "promote" if name in shipped_names("promote") else "saliency"
        resolved = ModelFile.resolve(model, role)
        opener = WRAPPERS.get((resolved.spec["task"], task))
        if opener is None:
            raise WeaksalError(
                f"{resolved.path}: a {resolved.spec['task']} model cannot give {task} maps."
                " Fix: pass a saliency model"
            )
        detector = opener(resolved, device, runtime, channels_last, threads)
        if isinstance(detector, Promotion) and promote is not None:
            raise WeaksalError(f"{resolved.path}: an LPS model cannot be promoted by another one")
    if promote is None:
        return detector
    if task == "seg":
        raise WeaksalError("--promote promotes saliency maps. Fix: leave it out with --task seg")
    return PromotedDetector(detector, open_promotion(promote, device))
