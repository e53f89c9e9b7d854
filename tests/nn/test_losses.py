from __future__ import annotations

import math

import torch

from weaksal.nn.losses import bootstrapping_loss, multilabel_loss


def test_multilabel_loss_values():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    log_sig = lambda x: -math.log1p(math.exp(-x))  # noqa: E731
    first = -(log_sig(0.0) + log_sig(-2.0))
    second = -(log_sig(-1.0) + log_sig(-1.0))
    assert math.isclose(float(multilabel_loss(logits, targets)), (first + second) / 2, rel_tol=1e-6)
    weighted = -(log_sig(0.0) + 0.02 * log_sig(-2.0)) - (0.02 * log_sig(-1.0) + log_sig(-1.0))
    assert math.isclose(float(multilabel_loss(logits, targets, 0.02)), weighted / 2, rel_tol=1e-6)


def test_hard_bootstrapping_mixes_label_and_thresholded_prediction():
    logits = torch.tensor([[2.0, -3.0, 0.5]], requires_grad=True)
    labels = torch.tensor([[0.0, 0.0, 1.0]])
    loss = bootstrapping_loss(logits, labels, delta=0.95, hard=True)
    target = torch.tensor([[0.05, 0.0, 1.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits.detach(), target)
    assert torch.isclose(loss, expected)
    soft = bootstrapping_loss(logits, labels, delta=0.95, hard=False)
    soft_target = 0.95 * labels + 0.05 * torch.sigmoid(logits.detach())
    assert torch.isclose(
        soft, torch.nn.functional.binary_cross_entropy_with_logits(logits.detach(), soft_target)
    )
    loss.backward()  # gradient flows only through the logits' own term
    assert torch.allclose(logits.grad, (torch.sigmoid(logits.detach()) - target) / 3)
