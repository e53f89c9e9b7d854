"""What a network is for (its task and inputs), and what it returns (a typed :class:`Outputs`).

Callers ask a model file's spec, never its architecture's name: ``weaksal
predict`` takes any network whose ``inputs`` are ``rgb`` and whose
``outputs`` include ``saliency``; ``weaksal promote`` the ``promote`` task
(``rgb+prior``); ``weaksal caption`` the ``caption`` task.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

#: task -> what the network is for
TASKS: dict[str, str] = {
    "saliency": "per-pixel saliency from an image",
    "classification": "image-level classes (with a saliency map: WSS's FIN, MWS's CNet)",
    "caption": "a caption (with a saliency map: MWS's PNet)",
    "promote": "a better saliency map from an image and another detector's map (LPS)",
    "segmentation": "per-pixel semantic classes and saliency (SSNet)",
    "depth": "depth regressed from an image (JSM's depth network)",
    "fill-blank": "the masked salient word of a caption (JSM's text model, TSM)",
}
#: what a network reads: RGB alone, RGB and a prior saliency map, RGB and depth, or
#: another network's features, a saliency mask and a caption with one word masked (TSM)
INPUTS = ("rgb", "rgb+prior", "rgb+depth", "features+text")


@dataclass
class Outputs:
    """A network's results; the fields its task does not produce stay ``None``.

    Every map is a tensor of logits ``(N, K, H, W)``; ``saliency`` and
    ``depth`` are at the input size, ``coarse`` is the saliency logits at the
    decoder's own resolution (the maps MWS's and WSS's losses act on).
    ``segmentation`` is at the input size for the paper layouts and at the
    decoder's resolution (stride 4) for the multi-scale decoders: C + 1
    full-size maps would double a training step; users up-sample it
    (:func:`weaksal.inference.runtimes.segment_images`).
    """

    saliency: torch.Tensor | None = None  # (N, 1, H, W)
    coarse: torch.Tensor | None = None  # (N, 1, h, w)
    classes: torch.Tensor | None = None  # (N, C) image-level logits
    segmentation: torch.Tensor | None = None  # (N, C + 1, h, w), background first
    depth: torch.Tensor | None = None  # (N, 1, H, W)
    words: torch.Tensor | None = None  # (N, T, V) caption word logits
    coarse_classes: torch.Tensor | None = None  # (N, C) class scores of the deepest level (SSNet)
    features: torch.Tensor | None = (
        None  # (N, F, h, w) the decoder's features (JSM's TSM reads them)
    )

    def produced(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


OUTPUT_FIELDS = tuple(f.name for f in fields(Outputs))
