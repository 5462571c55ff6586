"""PINN for Burgers' equation, continuous-time inference (arXiv 1711.10561, §3.1, Fig. 1, Tables 1–2).

Data, as the official Burgers.py builds it: the exact solution on the paper's 256 × 100 grid
(computed here by Hopf–Cole, not read from burgers_shock.mat); N_u points drawn at random from
the 456 initial/boundary grid points; N_f Latin-hypercube collocation points plus those 456.
Training: full batch, L-BFGS on MSE_u + MSE_f (eq. 4); the trainer calls it with a closure.
One trainer step is one optimizer.step(closure) of up to optim.max_iter L-BFGS iterations:
torch.optim.LBFGS (optim.name=lbfgs) or scipy's L-BFGS-B, what Burgers.py calls (scipy_lbfgsb,
lbfgsb.py). The residual's derivatives are carried forward through the net (model.with_derivatives);
compile=true hands the whole loss to torch.compile (needs a C++ compiler; ~1 min to compile).
Metric: relative L2 error of u over the whole grid (Tables 1–2).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from workbench import ConfigError, fingerprint, make_optimizer, require_positive

from .components import boundary_points, hopf_cole_burgers, paper_grid, relative_l2, residual_from_derivatives, training_points
from .lbfgsb import ScipyLBFGSB, make_scipy_lbfgsb
from .model import PINN, layer_sizes

DTYPES = {"float32": torch.float32, "float64": torch.float64}
TRACE_EVERY = 100  # L-BFGS-B iterations between two points of the error curve inside one minimize call


@lru_cache(maxsize=4)
def exact_solution(nu: float, nx: int, nt: int, t_max: float, n_quad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t = paper_grid(nx, nt, t_max)
    return x, t, hopf_cole_burgers(x, t, nu, n_quad)


class BurgersPINN:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        d = cfg.data
        if str(cfg.dtype) not in DTYPES:
            raise ConfigError(f"dtype={cfg.dtype} is not one of {', '.join(DTYPES)}")
        self.dtype = DTYPES[str(cfg.dtype)]
        if not 2 <= int(d.n_quad) <= 300:
            raise ConfigError(f"data.n_quad={d.n_quad} must be in 2..300 (numpy's Gauss–Hermite overflows above)")
        self.nu = float(d.nu_times_pi) / np.pi
        x, t, self.u_exact = exact_solution(self.nu, require_positive("data.nx", d.nx), require_positive("data.nt", d.nt),
                                            float(d.t_max), int(d.n_quad))
        self.grid_x, self.grid_t = x, t
        X, T = np.meshgrid(x, t)
        self.x_star = np.stack([X.ravel(), T.ravel()], 1)
        lb, ub = self.x_star.min(0), self.x_star.max(0)
        xt_u, u_b = boundary_points(x, t, self.u_exact)
        n_u, n_f = require_positive("data.n_u", d.n_u), require_positive("data.n_f", d.n_f)
        if n_u > len(xt_u):
            raise ConfigError(f"data.n_u={n_u} is more than the {len(xt_u)} initial/boundary grid points")
        xt_lhs, pick = training_points(len(xt_u), n_u, n_f, lb, ub, int(d.seed))  # Burgers.py's draws
        xt_f = np.vstack([xt_lhs, xt_u])  # Burgers.py appends X_u_train
        as_t = lambda a: torch.tensor(a, dtype=self.dtype)  # noqa: E731
        self.x_u, self.t_u, self.u = as_t(xt_u[pick, :1]), as_t(xt_u[pick, 1:]), as_t(u_b[pick])
        self.x_f, self.t_f = as_t(xt_f[:, :1]), as_t(xt_f[:, 1:])
        self.data_fingerprint = fingerprint(self.x_u, self.t_u, self.u, self.x_f, self.t_f, self.u_exact)
        layers = layer_sizes(require_positive("model.depth", cfg.model.depth), require_positive("model.width", cfg.model.width))
        self.model = PINN(layers, lb.tolist(), ub.tolist()).to(self.dtype)
        self.optimizer: torch.optim.Optimizer | None = None
        self.error_trace: list[tuple[int, float, float]] = []  # (iterations, test rel L2, loss) inside scipy's calls
        if not isinstance(cfg.compile, bool):
            raise ConfigError(f"compile={cfg.compile} must be true or false")
        self.losses = torch.compile(self.mse_terms) if cfg.compile else self.mse_terms

    def optimizers(self) -> tuple[torch.optim.Optimizer, None]:
        if str(self.cfg.optim.get("name")) == "scipy_lbfgsb":
            self.optimizer = make_scipy_lbfgsb(self.model.parameters(), self.cfg.optim)
            self.optimizer.observer = self.trace_error
        else:
            self.optimizer = make_optimizer(self.model.parameters(), self.cfg.optim)
        return self.optimizer, None

    def train_batches(self) -> Iterator[None]:
        """Full batch: the points live on the experiment, the trainer only counts steps."""
        while True:
            yield None

    def mse_terms(self) -> tuple[torch.Tensor, torch.Tensor]:
        """MSE_u and MSE_f of eq. 4."""
        mse_u = ((self.model(self.x_u, self.t_u) - self.u) ** 2).mean()
        f = residual_from_derivatives(*self.model.with_derivatives(self.x_f, self.t_f), self.nu)
        return mse_u, (f ** 2).mean()

    def train_step(self, batch: None) -> dict[str, torch.Tensor]:
        """Eq. 4: MSE = MSE_u + MSE_f."""
        mse_u, mse_f = self.losses()
        return {"loss": mse_u + mse_f, "mse_u": mse_u.detach(), "mse_f": mse_f.detach()}

    def predict(self) -> np.ndarray:
        """u on the whole grid, nt nx."""
        xt = torch.tensor(self.x_star, dtype=self.dtype)
        with torch.no_grad():
            u = self.model(xt[:, :1], xt[:, 1:])
        return u.numpy().reshape(len(self.grid_t), len(self.grid_x))

    def trace_error(self, iterations: int, loss: float) -> None:
        if iterations % TRACE_EVERY == 0:
            self.error_trace.append((iterations, relative_l2(self.predict(), self.u_exact), loss))

    def evaluate(self) -> dict[str, float]:
        metrics = {"test/rel_l2": relative_l2(self.predict(), self.u_exact)}
        if isinstance(self.optimizer, (torch.optim.LBFGS, ScipyLBFGSB)):  # both keep their totals on the first parameter
            state = self.optimizer.state.get(self.optimizer.param_groups[0]["params"][0], {})
            metrics["optim/iterations"] = float(state.get("n_iter", 0))
            metrics["optim/evaluations"] = float(state.get("func_evals", 0))
        return metrics

    def analysis(self) -> dict[str, Any]:
        """For figures.py: prediction and exact solution on the grid, and the N_u training points;
        with scipy's L-BFGS-B, why it stopped (its own words)."""
        out = {
            "x": self.grid_x.tolist(), "t": self.grid_t.tolist(), "nu": self.nu,
            "u_pred": np.round(self.predict(), 6).tolist(), "u_exact": np.round(self.u_exact, 6).tolist(),
            "x_u": self.x_u.ravel().tolist(), "t_u": self.t_u.ravel().tolist(),
        }
        if isinstance(self.optimizer, ScipyLBFGSB):
            out["optimizer_stop"] = self.optimizer.counters()["message"]
            out["error_trace"] = [list(point) for point in self.error_trace]
        return out


def build(cfg: Any) -> BurgersPINN:
    return BurgersPINN(cfg)
