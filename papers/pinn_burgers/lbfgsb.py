"""scipy's L-BFGS-B driven by torch gradients: the optimizer the official Burgers.py calls (through
TF's ScipyOptimizerInterface), as a closure optimizer for the workbench trainer.

One step(closure) is one scipy.optimize.minimize(method="L-BFGS-B", jac=True) call of at most
max_iter iterations from the current weights, in float64 whatever the model's dtype. Each call
starts a fresh L-BFGS memory (scipy exposes none to carry over), so the only state is the
counters and whether scipy stopped on its own tests: resuming from a checkpoint at a step
boundary continues exactly as the uninterrupted run does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import scipy.optimize
import torch

from workbench import ConfigError

EPS = float(np.finfo(float).eps)
CAP_REACHED = 1  # scipy's status when max_iter or max_fun ran out; 0 is convergence, 2 a failed line search


class ScipyLBFGSB(torch.optim.Optimizer):
    needs_closure = True  # the trainer calls step(closure), as for torch.optim.LBFGS

    def __init__(self, params: Iterable[torch.nn.Parameter], max_iter: int = 500, max_fun: int = 625,
                 history_size: int = 50, max_ls: int = 50, ftol: float = EPS, gtol: float = 1e-5,
                 stop_when_converged: bool = True) -> None:
        defaults = {"max_iter": max_iter, "max_fun": max_fun, "history_size": history_size, "max_ls": max_ls,
                    "ftol": ftol, "gtol": gtol, "stop_when_converged": stop_when_converged}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ConfigError("ScipyLBFGSB takes one parameter group (it optimises one flat vector)")
        # Called after every iteration with (iterations so far, loss), the weights at scipy's iterate:
        # one minimize call can be the whole run, and this is how its curve gets drawn.
        self.observer: Callable[[int, float], None] | None = None

    def _params(self) -> list[torch.Tensor]:
        return [p for p in self.param_groups[0]["params"] if p.requires_grad]

    def counters(self) -> dict[str, Any]:
        """n_iter, func_evals (totals over all steps, as torch's LBFGS keeps them), scipy's last status and message."""
        state = self.state[self._params()[0]]
        for key, empty in (("n_iter", 0), ("func_evals", 0), ("status", CAP_REACHED), ("message", "")):
            state.setdefault(key, empty)
        return state

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Up to max_iter L-BFGS-B iterations; the weights end at scipy's last accepted point.

        Once scipy has stopped on its own tests (ftol, gtol, a failed line search), later steps
        only evaluate the loss (the trainer reports it) unless stop_when_converged is false: the
        official code makes one minimize call and ends there.
        """
        group, counters = self.param_groups[0], self.counters()
        params = self._params()
        if group["stop_when_converged"] and counters["status"] != CAP_REACHED:
            with torch.enable_grad():
                return closure()

        def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            assign(params, x)
            with torch.enable_grad():
                loss = closure()
            return float(loss), flat_grad(params)

        start, done = counters["n_iter"], 0

        def after_iteration(intermediate_result: scipy.optimize.OptimizeResult) -> None:  # scipy passes the iterate by this name
            nonlocal done
            done += 1
            if self.observer is not None:
                assign(params, intermediate_result.x)
                self.observer(start + done, float(intermediate_result.fun))

        result = scipy.optimize.minimize(
            value_and_grad, flatten(params), jac=True, method="L-BFGS-B", callback=after_iteration,
            options={"maxiter": group["max_iter"], "maxfun": group["max_fun"], "maxcor": group["history_size"],
                     "maxls": group["max_ls"], "ftol": group["ftol"], "gtol": group["gtol"]})
        assign(params, result.x)
        counters["n_iter"] += int(result.nit)
        counters["func_evals"] += int(result.nfev)
        counters["status"], counters["message"] = int(result.status), str(result.message)
        return torch.tensor(float(result.fun))


def flatten(params: list[torch.Tensor]) -> np.ndarray:
    return np.concatenate([p.detach().cpu().double().reshape(-1).numpy() for p in params])


def flat_grad(params: list[torch.Tensor]) -> np.ndarray:
    """A missing gradient (a non-finite loss the trainer did not backpropagate) counts as zero."""
    return np.concatenate([(p.grad if p.grad is not None else torch.zeros_like(p)).detach().cpu().double()
                           .reshape(-1).numpy() for p in params])


def assign(params: list[torch.Tensor], x: np.ndarray) -> None:
    offset = 0
    for p in params:
        n = p.numel()
        p.copy_(torch.from_numpy(x[offset:offset + n]).view_as(p))
        offset += n


OPTIONS = ("max_iter", "max_fun", "history_size", "max_ls", "ftol", "gtol", "stop_when_converged")


def make_scipy_lbfgsb(params: Iterable[torch.nn.Parameter], optim_cfg: Mapping[str, Any]) -> ScipyLBFGSB:
    """From an `optim:` block with name scipy_lbfgsb and any of OPTIONS."""
    options = {k: v for k, v in dict(optim_cfg).items() if k != "name"}
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"optim.{unknown[0]} is not an option of scipy_lbfgsb; use {', '.join(OPTIONS)}")
    for key in ("max_iter", "max_fun", "history_size", "max_ls"):
        if key in options and (not isinstance(options[key], int) or isinstance(options[key], bool) or options[key] <= 0):
            raise ConfigError(f"optim.{key}={options[key]} must be a positive integer")
    return ScipyLBFGSB(params, **options)
