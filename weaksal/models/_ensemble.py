"""Several saliency networks as one: the mean of their maps (MWS's CNet + PNet test-time map)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from weaksal.models._outputs import Outputs


class MapAverage(nn.Module):
    """Mean of several saliency networks' probabilities, as logits (the CNet + PNet test-time map).

    ``normalise`` stretches each image's mean map to [0, 1] (min-max), as the
    evaluation does before thresholding: the attention maps are not calibrated
    probabilities (after ``init``, PNet's mean is 0.007 and its peak 0.4), so
    a CRF on the raw mean would call nearly every pixel background.
    """

    def __init__(self, networks: Sequence[nn.Module], normalise: bool = False) -> None:
        super().__init__()
        self.networks = nn.ModuleList(networks)
        self.normalise = normalise

    def forward(self, rgb: torch.Tensor) -> Outputs:
        mean = torch.stack(
            [torch.sigmoid(net(rgb).saliency.float()) for net in self.networks]
        ).mean(0)
        if self.normalise:
            low = mean.amin(dim=(1, 2, 3), keepdim=True)
            high = mean.amax(dim=(1, 2, 3), keepdim=True)
            mean = (mean - low) / (high - low).clamp_min(1e-8)
        return Outputs(saliency=torch.logit(mean.clamp(1e-6, 1 - 1e-6)))
