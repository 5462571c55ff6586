"""Stage 1 gate for PINN Burgers: the computed exact solution against known properties, and each
training piece against a naive reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from .components import (NU, boundary_points, burgers_residual, hopf_cole_burgers, latin_hypercube, paper_grid,
                         relative_l2, residual_from_derivatives, training_points)
from .model import PINN, layer_sizes


@pytest.fixture(scope="module")
def exact():
    x, t = paper_grid()
    return x, t, hopf_cole_burgers(x, t)


def test_grid_is_the_papers(exact):
    x, t, u = exact
    assert u.shape == (100, 256)
    assert x[0] == -1 and x[-1] == 1 and t[0] == 0 and t[1] == pytest.approx(0.01) and t[-1] == pytest.approx(0.99)


def test_initial_condition_is_minus_sin(exact):
    x, _, u = exact
    np.testing.assert_allclose(u[0], -np.sin(np.pi * x), atol=1e-15)
    # just after t = 0 the quadrature path (not the t = 0 shortcut) must agree with it too
    early = hopf_cole_burgers(x, np.array([1e-6]))[0]
    np.testing.assert_allclose(early, -np.sin(np.pi * x), atol=1e-4)


def test_boundary_values_vanish(exact):
    _, _, u = exact
    assert np.abs(u[:, 0]).max() < 1e-12 and np.abs(u[:, -1]).max() < 1e-12


def test_solution_is_odd_in_x(exact):
    _, _, u = exact
    np.testing.assert_allclose(u, -u[:, ::-1], atol=1e-12)


def test_shock_steepens_at_x0(exact):
    """The slope at x = 0 starts at −π and steepens to a near-discontinuity (the shock)."""
    x, t, u = exact
    mid = len(x) // 2  # x[127], x[128] straddle 0
    slope = (u[:, mid] - u[:, mid - 1]) / (x[mid] - x[mid - 1])
    assert slope[0] == pytest.approx(-np.pi, rel=1e-3)
    assert np.all(np.diff(slope[:40]) < 0)  # steepening while the shock forms (t < 0.4)
    assert slope[-1] < -70  # at t = 0.99 the jump spans ~±0.31 across one cell of width 2/255
    assert np.abs(u[-1]).max() == pytest.approx(0.718, abs=0.01)  # peak of the developed shock profile


def test_exact_solution_satisfies_burgers_by_finite_differences():
    """Away from the shock, central differences of u give a residual near zero (eq. 3)."""
    x = np.linspace(-1, -0.3, 141)
    t = np.array([0.3 - 1e-4, 0.3, 0.3 + 1e-4])
    u = hopf_cole_burgers(x, t)
    dx = x[1] - x[0]
    u_t = (u[2] - u[0]) / 2e-4
    u_x = (u[1, 2:] - u[1, :-2]) / (2 * dx)
    u_xx = (u[1, 2:] - 2 * u[1, 1:-1] + u[1, :-2]) / dx**2
    residual = u_t[1:-1] + u[1, 1:-1] * u_x - NU * u_xx
    assert np.abs(residual).max() < 1e-3


def test_quadrature_has_converged():
    x, t = np.linspace(-1, 1, 64), np.array([0.25, 0.5, 0.99])
    np.testing.assert_allclose(hopf_cole_burgers(x, t, n_quad=100), hopf_cole_burgers(x, t, n_quad=200), atol=1e-9)


def test_boundary_points_follow_the_official_stacking(exact):
    x, t, u = exact
    xt, values = boundary_points(x, t, u)
    assert xt.shape == (256 + 100 + 100, 2) and values.shape == (456, 1)
    assert np.all(xt[:256, 1] == 0) and np.all(xt[256:356, 0] == -1) and np.all(xt[356:, 0] == 1)
    np.testing.assert_allclose(values[:256, 0], -np.sin(np.pi * x), atol=1e-15)


def test_latin_hypercube_puts_one_point_in_each_stratum():
    lb, ub = np.array([-1.0, 0.0]), np.array([1.0, 0.99])
    pts = latin_hypercube(50, lb, ub, np.random.RandomState(0))
    assert pts.shape == (50, 2) and np.all(pts >= lb) and np.all(pts <= ub)
    for d in range(2):
        strata = np.floor((pts[:, d] - lb[d]) / (ub[d] - lb[d]) * 50).astype(int)
        assert sorted(strata) == list(range(50))


def pydoe_lhs_classic(n: int, samples: int) -> np.ndarray:
    """pyDOE 0.3.8's lhs(n, samples) (criterion None: _lhsclassic), written as it is, on numpy's global stream."""
    cut = np.linspace(0, 1, samples + 1)
    u = np.random.rand(samples, n)
    a, b = cut[:samples], cut[1:samples + 1]
    rdpoints = np.zeros_like(u)
    for j in range(n):
        rdpoints[:, j] = u[:, j] * (b - a) + a
    H = np.zeros_like(rdpoints)
    for j in range(n):
        order = np.random.permutation(range(samples))
        H[:, j] = rdpoints[order, j]
    return H


def test_training_points_are_the_official_draws():
    """Burgers.py: np.random.seed(1234); X_f = lb + (ub-lb)*lhs(2, N_f); idx = np.random.choice(456, N_u, replace=False)."""
    lb, ub = np.array([-1.0, 0.0]), np.array([1.0, 0.99])
    state = np.random.get_state()
    try:
        np.random.seed(1234)
        official_f = lb + (ub - lb) * pydoe_lhs_classic(2, 300)
        official_idx = np.random.choice(456, 40, replace=False)
    finally:
        np.random.set_state(state)
    xt_f, idx = training_points(456, 40, 300, lb, ub, seed=1234)
    np.testing.assert_array_equal(xt_f, official_f)
    np.testing.assert_array_equal(idx, official_idx)


def test_residual_matches_hand_derivatives_of_a_known_function():
    """u = sin(x)·e^(−t): u_t = −u, u_x = cos(x)e^(−t), u_xx = −u."""
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    t = torch.linspace(0, 1, 9, dtype=torch.float64)[:, None]
    f = burgers_residual(lambda x, t: torch.sin(x) * torch.exp(-t), x, t)
    u = torch.sin(x) * torch.exp(-t)
    expected = -u + u * torch.cos(x) * torch.exp(-t) + NU * u
    torch.testing.assert_close(f, expected)


def test_residual_is_differentiable_in_the_weights():
    model = PINN(layer_sizes(2, 5), [-1.0, 0.0], [1.0, 0.99])
    f = burgers_residual(model, torch.rand(7, 1), torch.rand(7, 1))
    f.pow(2).mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_derivatives_carried_forward_match_autograd():
    """model.with_derivatives (what training uses) against autograd's u_t, u_x, u_xx (eq. 3)."""
    torch.manual_seed(0)
    model = PINN(layer_sizes(3, 7), [-1.0, 0.0], [1.0, 0.99]).double()
    x = (torch.rand(11, 1, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    t = torch.rand(11, 1, dtype=torch.float64).requires_grad_(True)
    u = model(x, t)
    u_t, u_x = torch.autograd.grad(u.sum(), (t, x), create_graph=True)
    (u_xx,) = torch.autograd.grad(u_x.sum(), x)
    for ours, reference in zip(model.with_derivatives(x, t), (u, u_t, u_x, u_xx)):
        torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    f = residual_from_derivatives(*model.with_derivatives(x, t))
    torch.testing.assert_close(f, burgers_residual(model, x, t), rtol=1e-12, atol=1e-12)


def test_pinn_has_the_papers_layers_and_init():
    torch.manual_seed(0)
    model = PINN(layer_sizes(8, 20), [-1.0, 0.0], [1.0, 0.99])
    assert [m.in_features for m in model.linears] + [model.linears[-1].out_features] == [2] + [20] * 8 + [1]
    assert sum(p.numel() for p in model.parameters()) == 2 * 20 + 20 + 7 * (20 * 20 + 20) + 20 + 1
    w = model.linears[3].weight
    assert torch.all(w.abs() <= 2 * (2 / 40) ** 0.5) and all(m.bias.abs().sum() == 0 for m in model.linears)
    # inputs are scaled to [−1, 1]: the domain's corners map to the corners
    assert model(torch.tensor([[-1.0], [1.0]]), torch.tensor([[0.0], [0.99]])).shape == (2, 1)


def test_relative_l2_matches_its_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    assert relative_l2(a, b) == pytest.approx(np.sqrt(((a - b) ** 2).sum()) / np.sqrt((b**2).sum()))
    assert relative_l2(b, b) == 0
