"""``weaksal caption``: what MWS's caption network (PNet) says about an image.

PNet learns to caption so that its attention map finds what a caption talks
about; decoding its captions greedily shows what it learned (and, trained on
a few hundred captions, how little). The vocabulary travels in the model
file's spec, so a PNet file is all that is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from weaksal.data.vocabulary import Vocabulary
from weaksal.inference.runtimes import to_batch
from weaksal.plumbing.devices import resolve_device
from weaksal.plumbing.errors import WeaksalError


def resolve_captioner(model: str | Path) -> Path:
    """A caption model file from a path or a shipped model's name (its ``caption`` network)."""
    from weaksal.pretrained import resolve_model

    return resolve_model(model, role="caption")


class Captioner:
    """Greedy captions from a PNet model file."""

    def __init__(self, model_file: str | Path, device: str | torch.device = "cpu") -> None:
        from weaksal.models import load_model

        self.model, spec = load_model(model_file, device)
        if spec["task"] != "caption":
            raise WeaksalError(
                f"{model_file}: a {spec['task']} model cannot caption. "
                "Fix: pass a caption model (MWS's PNet, a run's coherence/pnet.safetensors) or --model mws"
            )
        self.vocabulary = Vocabulary(spec["vocabulary"])
        self.size = int(spec["input_size"])
        self.max_length = int(spec.get("max_caption_length") or 20)
        self.device = resolve_device(device)

    def captions(self, images: Sequence[np.ndarray]) -> list[str]:
        """One caption per RGB ``uint8`` image."""
        batch = torch.from_numpy(to_batch(images, self.size)).to(self.device)
        words = self.model.generate(batch, self.max_length)
        return [self.vocabulary.decode(row.tolist()) for row in words.cpu()]
