from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from weaksal.nn.pooling import GlobalPool, global_smooth_pool, project_to_simplex


def _projection_by_optimiser(v: np.ndarray) -> np.ndarray:
    """argmin ||w - v||^2 on the simplex, by a generic constrained solver (the oracle)."""
    result = minimize(
        lambda w: ((w - v) ** 2).sum(),
        np.full_like(v, 1 / len(v)),
        jac=lambda w: 2 * (w - v),
        bounds=[(0, None)] * len(v),
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return result.x


def test_projection_matches_a_generic_solver_and_known_cases():
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 10.0):
        v = rng.normal(size=(4, 9)) * scale
        ours = project_to_simplex(torch.from_numpy(v)).numpy()
        for row, expected in zip(ours, (_projection_by_optimiser(r) for r in v), strict=True):
            assert np.allclose(row, expected, atol=1e-6)
        assert np.allclose(ours.sum(1), 1) and (ours >= 0).all()
    assert torch.allclose(
        project_to_simplex(torch.tensor([0.2, 0.3, 0.5])), torch.tensor([0.2, 0.3, 0.5])
    )
    assert torch.allclose(
        project_to_simplex(torch.tensor([5.0, 1.0, 0.0])), torch.tensor([1.0, 0.0, 0.0])
    )
    assert torch.allclose(
        project_to_simplex(torch.tensor([2.0, 2.0, 2.0])), torch.full((3,), 1 / 3)
    )


def test_gsp_interpolates_between_max_and_average_pooling():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 4, 5)
    spread = (
        x * 1000
    )  # top scores further apart than the smallest mu (0.01) -> all weight on the max
    assert torch.allclose(global_smooth_pool(spread, mu=0.01), spread.amax(dim=(2, 3)), atol=1e-3)
    assert torch.allclose(global_smooth_pool(x, mu=1e6), x.mean(dim=(2, 3)), atol=1e-6)
    mid = global_smooth_pool(x, mu=1.0)
    assert ((mid <= x.amax(dim=(2, 3)) + 1e-6) & (mid >= x.mean(dim=(2, 3)) - 1e-6)).all()


def test_gsp_gradient_holds_the_weights_fixed():
    torch.manual_seed(1)
    x = torch.rand(1, 2, 3, 3, requires_grad=True)
    pooled = global_smooth_pool(x, mu=0.5)
    pooled.sum().backward()
    weights = project_to_simplex(x.detach().flatten(2) / 0.5).view_as(x)
    assert torch.allclose(x.grad, weights)
    assert torch.allclose(pooled, (weights * x.detach()).sum(dim=(2, 3)))


@pytest.mark.parametrize("kind", ["gsp", "gap", "gmp"])
def test_global_pool_shapes(kind):
    assert GlobalPool(kind)(torch.rand(2, 7, 4, 4)).shape == (2, 7)
    with pytest.raises(ValueError):
        GlobalPool("avg")
