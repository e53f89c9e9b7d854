"""Global pooling of score maps: WSS's Global Smooth Pooling (GSP), GAP and GMP.

GSP (Wang et al., CVPR 2017, Eq. 2-4) smooths global max pooling (Eq. 1) with
an L2 term (Eq. 2): each channel's scores ``s`` (length ``d`` = H*W) are pooled
with the weights ``w`` = Euclidean projection of ``s / mu`` onto the
probability simplex (Eq. 3), ``y = w . s`` (Eq. 4). ``mu -> 0`` gives max pooling, ``mu -> inf``
average pooling; the paper and the authors' code use ``mu = 10``. As in the
original Caffe layer (``fix_smooth``), the backward pass holds ``w`` fixed:
``dL/ds_i = w_i dL/dy``.
"""

from __future__ import annotations

import torch
from torch import nn


def project_to_simplex(v: torch.Tensor, total: float = 1.0) -> torch.Tensor:
    """Euclidean projection of each row of ``v`` (..., d) onto {w >= 0, sum w = total}.

    The exact O(d log d) sort-based algorithm (Held et al. 1974; Duchi et al.
    2008): with ``u`` sorted in decreasing order, ``rho`` is the largest ``j``
    with ``u_j - (sum_{i<=j} u_i - total) / j > 0`` and ``w = max(v - theta, 0)``
    for ``theta = (sum_{i<=rho} u_i - total) / rho``.
    """
    u, _ = torch.sort(v, dim=-1, descending=True)
    cumulative = u.cumsum(dim=-1) - total
    index = torch.arange(1, v.shape[-1] + 1, device=v.device, dtype=v.dtype)
    support = (u - cumulative / index) > 0
    rho = (
        support.to(v.dtype).cumsum(dim=-1).argmax(dim=-1, keepdim=True)
    )  # last True (the support is a prefix)
    theta = cumulative.gather(-1, rho) / (rho + 1).to(v.dtype)
    return (v - theta).clamp_min(0)


class _SmoothPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, scores: torch.Tensor, mu: float) -> torch.Tensor:
        weights = project_to_simplex(scores / max(mu, 0.01))
        ctx.save_for_backward(weights)
        return (weights * scores).sum(dim=-1)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (weights,) = ctx.saved_tensors
        return weights * grad_output.unsqueeze(-1), None


def global_smooth_pool(x: torch.Tensor, mu: float = 10.0) -> torch.Tensor:
    """GSP of ``(N, C, H, W)`` maps -> ``(N, C)``; see the module docstring."""
    scores = x.flatten(2).float()  # the projection needs full precision
    return _SmoothPool.apply(scores, mu).to(x.dtype)


class GlobalPool(nn.Module):
    """``gsp`` (default, mu 10), ``gap`` (average) or ``gmp`` (max): ``(N, C, H, W) -> (N, C)``."""

    def __init__(self, kind: str = "gsp", mu: float = 10.0) -> None:
        super().__init__()
        if kind not in ("gsp", "gap", "gmp"):
            raise ValueError(f"pooling must be gsp, gap or gmp, not {kind!r}")
        self.kind, self.mu = kind, mu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "gsp":
            return global_smooth_pool(x, self.mu)
        if self.kind == "gap":
            return x.mean(dim=(2, 3))
        return x.amax(dim=(2, 3))
