"""Stage 1 gate for HNN: each component against the most naive reference we can write."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from .components import (energy_mse, get_system, make_dataset, notebook_energy_starts, notebook_horizons,
                         rk4_path, split_standard_error, symplectic_gradient)
from .model import HNN, BaselineNN


def naive_official_dataset(name: str, seed: int) -> dict[str, np.ndarray]:
    """The official get_dataset written out longhand, with numpy's global RNG as the code uses it."""
    system = get_system(name)
    np.random.seed(seed)
    xs, dxs = [], []
    for _ in range(50):
        n = system.timescale * 3
        t = np.linspace(0, 3, n)
        y0 = np.random.rand(2) * 2 - 1
        r = np.random.rand() * system.radius_width + system.radius_low
        y0 = y0 / math.sqrt(y0[0] ** 2 + y0[1] ** 2) * r
        sol = solve_ivp(lambda _, y: system.dynamics(y), [0, 3], y0, t_eval=t, rtol=1e-10)
        for i in range(n):
            dxs.append(system.dynamics(sol.y[:, i]))
        q = sol.y[0] + np.random.randn(n) * 0.1
        p = sol.y[1] + np.random.randn(n) * 0.1
        xs.extend(zip(q, p))
    xs, dxs = np.array(xs), np.array(dxs)
    return {"x": xs[: len(xs) // 2], "test_x": xs[len(xs) // 2:], "dx": dxs[: len(xs) // 2], "test_dx": dxs[len(xs) // 2:]}


@pytest.mark.parametrize("name", ["spring", "pendulum"])
def test_dataset_matches_a_naive_rewrite_of_the_official_generator(name):
    ours = make_dataset(get_system(name), seed=3, samples=50, t_span=(0.0, 3.0), noise_std=0.1)
    ref = naive_official_dataset(name, seed=3)
    per = get_system(name).timescale * 3
    assert ours["x"].shape == (25 * per, 2) and ours["test_x"].shape == (25 * per, 2)
    for key in ref:
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-12)


def test_spring_targets_follow_hamiltons_equations():
    data = make_dataset(get_system("spring"), seed=0, samples=4, t_span=(0.0, 3.0), noise_std=0.0)
    q, p = data["x"][:, 0], data["x"][:, 1]
    np.testing.assert_allclose(data["dx"][:, 0], 2 * p, atol=1e-12)   # dq/dt = ∂H/∂p = 2p
    np.testing.assert_allclose(data["dx"][:, 1], -2 * q, atol=1e-12)  # dp/dt = −∂H/∂q = −2q
    energy = q**2 + p**2
    for start in range(0, 60, 30):  # energy is constant along each noise-free trajectory
        assert np.ptp(energy[start:start + 30]) < 1e-5  # solve_ivp rtol 1e-10, default atol 1e-6, as the code


def test_damped_spring_loses_energy():
    system = get_system("spring", damping=0.1)
    sol = solve_ivp(lambda _, y: system.dynamics(y), [0, 3], [1.0, 0.0], rtol=1e-10, t_eval=[0, 3])
    e0, e3 = (sol.y[:, 0] ** 2).sum(), (sol.y[:, 1] ** 2).sum()
    assert 0.4 < e3 / e0 < 0.7  # ≈ e^(−2γ·3) = 0.55


def test_symplectic_gradient_matches_finite_differences():
    def H(x):
        return x[:, 0] ** 2 * torch.sin(x[:, 1]) + x[:, 1] ** 3

    x = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)
    ours = symplectic_gradient(H(x), x)
    eps = 1e-6
    for i in range(7):
        row = x[i].detach()
        dq = (H((row + torch.tensor([eps, 0.0], dtype=torch.float64))[None]) - H((row - torch.tensor([eps, 0.0], dtype=torch.float64))[None])) / (2 * eps)
        dp = (H((row + torch.tensor([0.0, eps], dtype=torch.float64))[None]) - H((row - torch.tensor([0.0, eps], dtype=torch.float64))[None])) / (2 * eps)
        torch.testing.assert_close(ours[i], torch.cat([dp, -dq]), atol=1e-7, rtol=1e-6)


def test_symplectic_gradient_is_differentiable_in_the_weights():
    model = HNN(hidden=8)
    x = torch.randn(5, 2, requires_grad=True)
    model.time_derivative(x).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_hnn_field_conserves_its_own_hamiltonian():
    """∇H · (∂H/∂p, −∂H/∂q) = 0 for any weights: the property that makes an HNN conserve energy."""
    torch.manual_seed(0)
    model = HNN(hidden=16).double()
    x = torch.randn(20, 2, dtype=torch.float64, requires_grad=True)
    (grad_h,) = torch.autograd.grad(model.hamiltonian(x).sum(), x)
    field = model.time_derivative(x)
    torch.testing.assert_close((grad_h * field).sum(1), torch.zeros(20, dtype=torch.float64), atol=1e-12, rtol=0)


def test_models_have_the_papers_shapes():
    base, hnn = BaselineNN(200), HNN(200)
    assert sum(p.numel() for p in base.parameters()) == 600 + 40200 + 400  # 2→200→200→2, last layer no bias
    assert sum(p.numel() for p in hnn.parameters()) == 600 + 40200 + 200   # 2→200→200→1
    w = base.mlp.linear2.weight.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(200), atol=1e-4, rtol=0)  # orthogonal init
    assert base.time_derivative(torch.zeros(3, 2)).shape == (3, 2)
    assert hnn.time_derivative(torch.zeros(3, 2)).shape == (3, 2)


def test_rk4_tracks_the_harmonic_oscillator():
    """dq/dt = 2p, dp/dt = −2q from (1, 0): q = cos 2t, p = −sin 2t."""
    field = lambda x: torch.stack([2 * x[:, 1], -2 * x[:, 0]], dim=1)  # noqa: E731
    t = torch.linspace(0, 5, 501, dtype=torch.float64)
    path = rk4_path(field, torch.tensor([[1.0, 0.0]], dtype=torch.float64), t)
    torch.testing.assert_close(path[:, 0, 0], torch.cos(2 * t), atol=3e-8, rtol=0)
    torch.testing.assert_close(path[:, 0, 1], -torch.sin(2 * t), atol=3e-8, rtol=0)
    coarse = rk4_path(field, torch.tensor([[1.0, 0.0]], dtype=torch.float64), t[::2])
    ratio = (coarse[-1, 0, 0] - math.cos(10)).abs() / (path[-1, 0, 0] - math.cos(10)).abs()
    assert 12 < ratio < 20  # fourth order: halving dt cuts the error 16-fold


def test_rk4_with_a_clock_per_state_equals_separate_runs():
    field = lambda x: torch.stack([2 * x[:, 1], -2 * x[:, 0] - 0.3 * x[:, 1]], dim=1)  # noqa: E731
    x0 = torch.tensor([[1.0, 0.0], [0.2, -0.5]], dtype=torch.float64)
    unit = torch.linspace(0, 1, 101, dtype=torch.float64)
    clocks = torch.outer(unit, torch.tensor([3.0, 7.0], dtype=torch.float64))
    both = rk4_path(field, x0, clocks)
    for i, horizon in enumerate((3.0, 7.0)):
        alone = rk4_path(field, x0[i:i + 1], unit * horizon)
        torch.testing.assert_close(both[:, i], alone[:, 0], atol=1e-12, rtol=0)


def test_energy_mse_and_its_error_bar_match_loops():
    rng = np.random.default_rng(0)
    true, pred = rng.normal(size=(100, 15)), rng.normal(size=(100, 15))
    ours = energy_mse(torch.tensor(true), torch.tensor(pred)).numpy()
    for j in range(15):
        assert ours[j] == pytest.approx(sum((true[i, j] - pred[i, j]) ** 2 for i in range(100)) / 100)
    values = rng.random(15)
    means = [values[3 * k:3 * k + 3].mean() for k in range(5)]
    assert split_standard_error(values) == pytest.approx(np.std(means) / math.sqrt(5))


def test_notebook_energy_protocol():
    starts = notebook_energy_starts(get_system("spring"), 15)
    assert starts.shape == (15, 2) and np.all(np.abs(starts) >= 0.2) and np.all(np.abs(starts) < 1.0)
    # the notebook draws after 50 spring trajectories (direction, radius, 2×30 normals) and a plotted one
    np.random.seed(0)
    for _ in range(50):
        np.random.rand(2), np.random.rand(), np.random.randn(30), np.random.randn(30)
    np.random.randn(30), np.random.randn(30)
    first = np.random.rand(2) * 1.6 - 0.8
    np.testing.assert_allclose(starts[0], first + 0.2 * np.sign(first))
    true, model = notebook_horizons(15, 20.0, 1.09)
    assert true[0] == pytest.approx(21.8) and model[0] == pytest.approx(21.8 * 1.09)
    assert true[-1] == pytest.approx(20 * 1.09**15)
    assert np.all(notebook_horizons(15, 20.0, 1.0)[1] == 20.0)
