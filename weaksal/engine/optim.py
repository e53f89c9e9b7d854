"""The optimiser side of every loop: Adam with faster new layers, the schedule, a guarded step."""

from __future__ import annotations

from typing import Any

import torch


def build_optimizer(model: torch.nn.Module, settings: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam (``betas`` from the settings when given); layers outside ``model.encoder`` (new,
    randomly initialised) learn ``head_lr_mult`` times faster."""
    backbone = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [
        p for n, p in model.named_parameters() if not n.startswith("encoder.") and p.requires_grad
    ]
    groups = [
        {"params": backbone, "lr_mult": 1.0},
        {"params": heads, "lr_mult": float(settings["head_lr_mult"])},
    ]
    betas = tuple(settings.get("betas") or (0.9, 0.999))
    return torch.optim.Adam(
        groups, lr=float(settings["lr"]), betas=betas, weight_decay=float(settings["weight_decay"])
    )


def poly_lr(base: float, step: int, total: int, power: float = 0.9) -> float:
    return base * (1.0 - step / total) ** power


def set_lr(
    optimizer: torch.optim.Optimizer, base: float, step: int, total: int, schedule: str
) -> float:
    """Set every group's lr (group ``lr_mult`` times the scheduled base); return the base lr."""
    lr = poly_lr(base, step, total) if schedule == "poly" else base
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
    return lr


def guarded_step(
    trainer, optimizer: torch.optim.Optimizer, parameters, loss: torch.Tensor, clip: float | None
) -> bool:
    """Backward, clip, step; skip the update when the loss or gradient is not finite.

    Low-precision training (bf16 autocast) can produce an occasional
    non-finite gradient; like a GradScaler, we drop that update instead of
    poisoning the weights, and count it in the log (``skipped``).
    """
    if not torch.isfinite(loss.detach()):
        optimizer.zero_grad(set_to_none=True)
        return False
    trainer.backward(loss)
    parameters = [p for p in parameters if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(parameters, clip if clip else float("inf"))
    if not torch.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return True
