"""scipy's L-BFGS-B as a closure optimizer (lbfgsb.py): it minimises, it takes the very steps scipy
takes when called directly, it stops as scipy stops, and a resumed run continues exactly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from workbench import ConfigError

from .lbfgsb import ScipyLBFGSB, make_scipy_lbfgsb


def rosenbrock_problem(start=(-1.2, 1.0, -0.5, 0.8), dtype=torch.float64):
    x = torch.nn.Parameter(torch.tensor(start, dtype=dtype))
    calls = []

    def closure() -> torch.Tensor:
        x.grad = None
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        calls.append(1)
        return loss.detach()
    return x, closure, calls


def test_it_reaches_the_minimum_of_rosenbrock():
    x, closure, _ = rosenbrock_problem()
    optimizer = ScipyLBFGSB([x], max_iter=500, max_fun=1000, gtol=1e-10)
    loss = optimizer.step(closure)
    torch.testing.assert_close(x.detach(), torch.ones(4, dtype=torch.float64), atol=1e-6, rtol=0)
    assert float(loss) < 1e-12
    assert optimizer.counters()["status"] == 0  # converged, not capped


def test_a_step_is_scipy_called_directly():
    x, closure, calls = rosenbrock_problem()
    ScipyLBFGSB([x], max_iter=15, max_fun=100, history_size=7, max_ls=20).step(closure)
    direct = scipy.optimize.minimize(scipy.optimize.rosen, np.array([-1.2, 1.0, -0.5, 0.8]), jac=scipy.optimize.rosen_der,
                                     method="L-BFGS-B", options={"maxiter": 15, "maxfun": 100, "maxcor": 7, "maxls": 20,
                                                                 "ftol": np.finfo(float).eps, "gtol": 1e-5})
    assert direct.status == 1 and direct.nit == 15  # still far from the minimum: the test compares a path
    np.testing.assert_allclose(x.detach().numpy(), direct.x, rtol=1e-12, atol=1e-12)
    assert len(calls) == direct.nfev


def test_quadratic_in_float32_weights():
    """A float32 model: scipy works in float64, the weights are cast back after each move."""
    target = torch.tensor([3.0, -2.0, 0.5])
    w = torch.nn.Parameter(torch.zeros(3))

    def closure() -> torch.Tensor:
        w.grad = None
        loss = ((w - target) ** 2).sum()
        loss.backward()
        return loss.detach()
    ScipyLBFGSB([w], max_iter=50).step(closure)
    assert w.dtype == torch.float32
    torch.testing.assert_close(w.detach(), target)


def test_after_convergence_later_steps_only_evaluate():
    x, closure, calls = rosenbrock_problem()
    optimizer = ScipyLBFGSB([x], max_iter=500, max_fun=1000)
    optimizer.step(closure)
    before, n_iter, n_calls = x.detach().clone(), optimizer.counters()["n_iter"], len(calls)
    optimizer.step(closure)
    assert torch.equal(x.detach(), before) and optimizer.counters()["n_iter"] == n_iter and len(calls) == n_calls + 1


def test_counters_add_up_over_steps():
    x, closure, calls = rosenbrock_problem()
    optimizer = ScipyLBFGSB([x], max_iter=5, max_fun=100)
    for _ in range(3):
        optimizer.step(closure)
    assert optimizer.counters()["n_iter"] == 15 and optimizer.counters()["func_evals"] == len(calls)


def test_resume_from_state_dict_continues_exactly():
    x, closure, _ = rosenbrock_problem()
    optimizer = ScipyLBFGSB([x], max_iter=6, max_fun=100)
    for _ in range(4):
        optimizer.step(closure)
    uninterrupted = x.detach().clone()

    x2, closure2, _ = rosenbrock_problem()
    first = ScipyLBFGSB([x2], max_iter=6, max_fun=100)
    for _ in range(2):
        first.step(closure2)
    saved_x, saved_state = x2.detach().clone(), first.state_dict()
    x3, closure3, _ = rosenbrock_problem(start=saved_x.tolist())
    resumed = ScipyLBFGSB([x3], max_iter=6, max_fun=100)
    resumed.load_state_dict(saved_state)
    for _ in range(2):
        resumed.step(closure3)
    assert torch.equal(x3.detach(), uninterrupted)
    assert resumed.counters()["n_iter"] == optimizer.counters()["n_iter"]


def test_config_errors_name_the_key():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError, match="optim.lr is not an option of scipy_lbfgsb"):
        make_scipy_lbfgsb(params, {"name": "scipy_lbfgsb", "lr": 1.0})
    with pytest.raises(ConfigError, match="optim.max_iter=0 must be a positive integer"):
        make_scipy_lbfgsb(params, {"name": "scipy_lbfgsb", "max_iter": 0})
    assert isinstance(make_scipy_lbfgsb(params, {"name": "scipy_lbfgsb", "max_iter": 3}), ScipyLBFGSB)


def test_the_observer_sees_every_iteration_at_scipys_iterate():
    x, closure, _ = rosenbrock_problem()
    seen = []
    optimizer = ScipyLBFGSB([x], max_iter=12, max_fun=100)
    optimizer.observer = lambda n, loss: seen.append((n, loss, x.detach().clone()))
    optimizer.step(closure)
    assert [n for n, _, _ in seen] == list(range(1, 13))
    n, loss, at = seen[-1]
    assert float((100 * (at[1:] - at[:-1] ** 2) ** 2 + (1 - at[:-1]) ** 2).sum()) == pytest.approx(loss, rel=1e-12)
    assert loss < seen[0][1]
    optimizer.step(closure)  # a second call counts on from the first
    assert seen[12][0] == 13
