"""HNN Table 1 (arXiv 1906.01563, §3): train a baseline NN or an HNN on one task, full batch.

Data: made here exactly as the official code does (scipy solve_ivp, the same numpy draws for the
same seed): 50 noisy trajectories, first 25 for training, last 25 for testing.
Loss (eq. 3 / 4): mean squared error between the model's (dq/dt, dp/dt) and the true one.
Evaluation (Table 1): train and test loss over all points, and "energy MSE": start 15 states,
integrate the model's field and the true field, compare the energy along both paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp

from workbench import ConfigError, fingerprint, make_optimizer, preserve_rng, require_positive

from .components import (energy_mse, get_system, make_dataset, notebook_energy_starts, notebook_horizons,
                         rk4_path, split_standard_error)
from .model import build_model


@lru_cache(maxsize=8)
def load_data(system_name: str, damping: float, seed: int, samples: int, t_span: tuple[float, float],
              noise_std: float, test_split: float) -> dict[str, torch.Tensor]:
    with preserve_rng():
        data = make_dataset(get_system(system_name, damping), seed, samples, t_span, noise_std, test_split)
    return {k: torch.tensor(v, dtype=torch.float32) for k, v in data.items()}


class HNNExperiment:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        d = cfg.data
        if d.system not in ("spring", "pendulum"):
            raise ConfigError(f"data.system={d.system} is not one of spring, pendulum")
        self.system = get_system(str(d.system), float(d.get("damping", 0.0)))
        # The official train.py seeds the data with the run's seed: each seed is a new data set.
        self.data = load_data(str(d.system), float(d.get("damping", 0.0)), int(cfg.seed),
                              require_positive("data.samples", d.samples), (float(d.t_span[0]), float(d.t_span[1])),
                              float(d.noise_std), float(d.test_split))
        self.data_fingerprint = fingerprint(*self.data.values())
        self._truth: dict[tuple, np.ndarray] = {}
        self.steps_seen = 0
        self.model = build_model(str(cfg.model.name), require_positive("model.hidden", cfg.model.hidden))

    def optimizers(self) -> tuple[torch.optim.Optimizer, None]:
        return make_optimizer(self.model.parameters(), self.cfg.optim), None

    def train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """§3: "we set the batch size to be the total number of examples"."""
        x = self.data["x"].clone().requires_grad_(True)
        while True:
            self.steps_seen += 1
            yield x, self.data["dx"]

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, dxdt = batch
        return {"loss": ((self.model.time_derivative(x) - dxdt) ** 2).mean()}

    def evaluate(self) -> dict[str, float]:
        """Table 1's columns: train loss, test loss (with the code's standard errors), energy MSE.

        The energy rollouts cost seconds, so by default only the last evaluation makes them
        (energy.every_eval: false): `steps_seen` counts the batches the trainer drew, which a resumed
        run replays too, so it is the step number on resume as well.
        """
        metrics = {}
        for split, prefix in (("", "trainset"), ("test_", "test")):
            err = (self.field(self.data[f"{split}x"]) - self.data[f"{split}dx"]) ** 2
            metrics[f"{prefix}/loss"] = float(err.mean())
            metrics[f"{prefix}/loss_se"] = float(err.std() / np.sqrt(err.numel()))
        if not (self.cfg.energy.every_eval or self.steps_seen >= int(self.cfg.trainer.max_steps)):
            return metrics
        per_rollout = self.energy_errors("notebook")
        metrics["test/energy_mse"] = float(per_rollout.mean())
        metrics["test/energy_mse_se"] = split_standard_error(per_rollout)
        metrics["test/energy_mse_fixed"] = float(self.energy_errors("fixed").mean())
        return metrics

    # ------------------------------------------------------------- energy MSE (Table 1, "Energy")

    def field(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.time_derivative(x, create_graph=False).detach()  # a rollout must not grow one long graph

    def true_paths(self, x0: np.ndarray, horizons: np.ndarray, points: int) -> np.ndarray:
        """solve_ivp along the true field, rtol 1e-12 as in the notebooks -> m b 2."""
        return np.stack([
            solve_ivp(lambda _, y: self.system.dynamics(y), (0.0, T), x, t_eval=np.linspace(0.0, T, points), rtol=1e-12).y.T
            for x, T in zip(x0, horizons)], axis=1)

    def model_paths(self, x0: np.ndarray, horizons: np.ndarray, points: int) -> np.ndarray:
        """RK4 along the model's field, `energy.rk4_substeps` steps between reported points -> m b 2."""
        substeps = require_positive("energy.rk4_substeps", self.cfg.energy.rk4_substeps)
        unit = torch.linspace(0.0, 1.0, (points - 1) * substeps + 1, dtype=torch.float64)
        clocks = torch.outer(unit, torch.tensor(horizons, dtype=torch.float64)).float()  # m' b
        path = rk4_path(self.field, torch.tensor(x0, dtype=torch.float32), clocks)[::substeps]
        return path.numpy().astype(np.float64)

    def energy_errors(self, protocol: str) -> np.ndarray:
        """Per-rollout energy MSE. "notebook": the notebooks' horizons and time stretch; "fixed": [0, t_end]."""
        e = self.cfg.energy
        n, points = require_positive("energy.trajectories", e.trajectories), require_positive("energy.points", e.points)
        x0 = notebook_energy_starts(self.system, n, int(e.seed))
        if protocol == "notebook":
            true_T, model_T = notebook_horizons(n, float(e.t_end), float(self.cfg.data.energy_stretch))
        else:
            true_T = model_T = np.full(n, float(e.t_end))
        key = (protocol, n, points)
        if key not in self._truth:  # the truth does not change during training
            self._truth[key] = self.system.hamiltonian(self.true_paths(x0, true_T, points))
        model_e = self.system.hamiltonian(self.model_paths(x0, model_T, points))
        return energy_mse(torch.as_tensor(self._truth[key]), torch.as_tensor(model_e)).numpy()

    def analysis(self) -> dict[str, Any]:
        """For figures.py: one long rollout (phase portrait, energy over time) and the learned field."""
        a = self.cfg.analysis
        x0 = np.array([list(self.cfg.data.rollout_x0)], dtype=np.float64)
        horizon = np.array([float(a.t_end)])
        true, model = self.true_paths(x0, horizon, int(a.points))[:, 0], self.model_paths(x0, horizon, int(a.points))[:, 0]
        lim = float(a.field_limit)
        grid = np.stack(np.meshgrid(np.linspace(-lim, lim, 15), np.linspace(-lim, lim, 15)), -1).reshape(-1, 2)
        return {
            "system": self.system.name, "model": str(self.cfg.model.name), "damping": self.system.damping,
            "t": np.linspace(0.0, float(a.t_end), int(a.points)).tolist(),
            "true_path": true.tolist(), "model_path": model.tolist(),
            "true_energy": self.system.hamiltonian(true).tolist(), "model_energy": self.system.hamiltonian(model).tolist(),
            "grid": grid.tolist(),
            "model_field": self.field(torch.tensor(grid, dtype=torch.float32)).numpy().tolist(),
            "true_field": np.stack([self.system.dynamics(g) for g in grid]).tolist(),
            "train_x": self.data["x"][: self.points_per_trajectory()].tolist(),  # the first training trajectory
        }

    def points_per_trajectory(self) -> int:
        t0, t1 = self.cfg.data.t_span
        return int(self.system.timescale * (float(t1) - float(t0)))


def build(cfg: Any) -> HNNExperiment:
    return HNNExperiment(cfg)
