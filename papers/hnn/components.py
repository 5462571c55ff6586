"""Stage 1 components of "Hamiltonian Neural Networks" (Greydanus, Dzamba, Yosinski; arXiv 1906.01563).

Symbols as in §2: canonical coordinates (q, p), Hamiltonian H(q, p), Hamilton's equations (eq. 1)
    dq/dt = ∂H/∂p,   dp/dt = −∂H/∂q.
Shapes: n points, state x = (q, p) of width 2.

The data generation follows the official code (github.com/greydanus/hamiltonian-nn,
experiment-spring/data.py and experiment-pend/data.py) step by step, with its numpy draws in the
same order, so the same seed gives the same trajectories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

Field = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------- the physical systems (§3)


@dataclass(frozen=True)
class System:
    """One task: its Hamiltonian, its true vector field, and how the official code samples it."""

    name: str
    timescale: int          # observations per unit time: 10 (spring), 15 (pendulum)
    radius_low: float       # initial energy radius ~ U[low, low + width)
    radius_width: float
    damping: float = 0.0    # 0 for every task of the paper; > 0 only for data=damped_spring

    def hamiltonian(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        q, p = x[..., 0], x[..., 1]
        if self.name == "pendulum":
            cos = torch.cos if isinstance(x, torch.Tensor) else np.cos
            return 3 * (1 - cos(q)) + p**2     # §3 Task 2, ideal pendulum; the code's constants (experiment-pend/data.py)
        return q**2 + p**2                      # §3 Task 1, ideal mass-spring; the code's constants (experiment-spring/data.py)

    def dynamics(self, x: np.ndarray) -> np.ndarray:
        """Eq. 1 for this H (analytic gradients; the code takes them with autograd), plus damping."""
        q, p = x[0], x[1]
        dh_dq = 3 * np.sin(q) if self.name == "pendulum" else 2 * q
        dh_dp = 2 * p
        return np.array([dh_dp, -dh_dq - self.damping * dh_dp])


SYSTEMS = {
    "spring": System("spring", timescale=10, radius_low=0.1, radius_width=0.9),        # data.py: rand()*0.9 + 0.1
    "pendulum": System("pendulum", timescale=15, radius_low=1.3, radius_width=1.0),    # data.py: rand() + 1.3
    "damped_spring": System("damped_spring", timescale=10, radius_low=0.1, radius_width=0.9, damping=0.1),
}


def get_system(name: str, damping: float = 0.0) -> System:
    base = SYSTEMS[name]
    return System(base.name, base.timescale, base.radius_low, base.radius_width, damping)


def sample_trajectory(system: System, rng: np.random.RandomState, t_span: tuple[float, float],
                      noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """One noisy trajectory: (x with noise, exact dx/dt at the clean points), as get_trajectory does.

    Draw order as in the code: direction y0 ~ U[−1, 1)², radius, then noise on q, then on p.
    """
    n = int(system.timescale * (t_span[1] - t_span[0]))
    t_eval = np.linspace(t_span[0], t_span[1], n)
    y0 = rng.rand(2) * 2 - 1
    radius = rng.rand() * system.radius_width + system.radius_low
    y0 = y0 / np.sqrt((y0**2).sum()) * radius
    path = solve_ivp(lambda t, y: system.dynamics(y), t_span, y0, t_eval=t_eval, rtol=1e-10)
    x = path.y.T.copy()
    dxdt = np.stack([system.dynamics(y) for y in path.y.T])
    x[:, 0] += rng.randn(n) * noise_std
    x[:, 1] += rng.randn(n) * noise_std
    return x, dxdt


def make_dataset(system: System, seed: int, samples: int, t_span: tuple[float, float], noise_std: float,
                 test_split: float = 0.5) -> dict[str, np.ndarray]:
    """get_dataset: `samples` trajectories, concatenated, first half train, second half test."""
    rng = np.random.RandomState(seed)  # same stream as the code's np.random.seed(seed)
    xs, dxs = zip(*(sample_trajectory(system, rng, t_span, noise_std) for _ in range(samples)))
    x, dx = np.concatenate(xs), np.concatenate(dxs)
    cut = int(len(x) * test_split)
    return {"x": x[:cut], "dx": dx[:cut], "test_x": x[cut:], "test_dx": dx[cut:]}


# ----------------------------------------------------------------- the HNN's one new operation (§3)


def symplectic_gradient(H: torch.Tensor, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """Eq. 2 applied to a learned H: (∂H/∂p, −∂H/∂q). H: n (one per row of x), x: n 2 with grad.

    create_graph=True (training) so the loss on this field can be differentiated again w.r.t. the
    weights; evaluation rollouts pass False, which is about twice as fast.
    """
    (dH,) = torch.autograd.grad(H.sum(), x, create_graph=create_graph)
    return torch.stack([dH[:, 1], -dH[:, 0]], dim=1)


# ----------------------------------------------------------------- evaluation (§3, Table 1)


def rk4_path(field: Field, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Classical fourth-order Runge–Kutta along `field`, all initial states at once.

    x0: b 2; t: m (one clock) or m b (a clock per state), increasing, t[0] the start.
    Returns the path, m b 2. `field` maps b 2 -> b 2.
    """
    steps = torch.diff(t, dim=0)
    xs = [x0]
    for dt in steps:
        dt = dt.unsqueeze(-1) if dt.dim() == 1 else dt  # b -> b 1, to scale each state's step
        x = xs[-1]
        k1 = field(x)
        k2 = field(x + dt / 2 * k1)
        k3 = field(x + dt / 2 * k2)
        k4 = field(x + dt * k3)
        xs.append(x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
    return torch.stack(xs)


def energy_mse(true_energy: torch.Tensor, predicted_energy: torch.Tensor) -> torch.Tensor:
    """Table 1 "Energy": mean over time of (E_true − E_model)², one value per trajectory. m b -> b."""
    return ((true_energy - predicted_energy) ** 2).mean(dim=0)


def notebook_energy_starts(system: System, n: int, seed: int = 0) -> np.ndarray:
    """The n starting states of the notebooks' energy loop, drawn from the same numpy stream.

    analyze-spring/-pend.ipynb seed numpy once (get_dataset, seed 0), draw the 50 training
    trajectories, then one plotted trajectory, then n times x0 ~ U(−0.8, 0.8)² pushed 0.2 away
    from 0 (each |coordinate| in [0.2, 1)). We replay the draws without integrating anything.
    """
    rng = np.random.RandomState(seed)
    per_trajectory = system.timescale * 3  # t_span [0, 3]
    for _ in range(50):
        rng.rand(2)                                   # direction
        if system.name == "spring":
            rng.rand()                                # radius (the pendulum notebook fixes radius=2.0)
        rng.randn(per_trajectory), rng.randn(per_trajectory)  # noise on q, p
    plotted = 30 if system.name == "spring" else 60   # spring: t_span [0,3]; pendulum: [0,4], 15/s
    rng.randn(plotted), rng.randn(plotted)
    starts = []
    for _ in range(n):
        x0 = rng.rand(2) * 1.6 - 0.8
        starts.append(x0 + 0.2 * np.sign(x0))
    return np.stack(starts)


def notebook_horizons(n: int, t_end: float, stretch: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizons of the n energy rollouts: (true path, model path), as the notebooks run them.

    The spring notebook's integrate_models multiplies its t_span and t_eval arguments in place by
    stretch = 1 + 0.9σ ("rescale time to compensate for noise effects"), and the same list is
    passed every time, after one call for the figure: rollout i compares the truth over
    t_end·stretch^(i+1) with the models over t_end·stretch^(i+2). stretch = 1 (the pendulum
    notebook): every rollout covers [0, t_end].
    """
    true = t_end * stretch ** (np.arange(n) + 1.0)
    return true, true * stretch


def split_standard_error(values: np.ndarray, splits: int = 5) -> float:
    """The notebooks' "±" on energy: std of the means of `splits` equal chunks, over √splits."""
    splits = min(splits, len(values))
    means = [chunk.mean() for chunk in np.array_split(np.asarray(values), splits)]
    return float(np.std(means) / np.sqrt(splits))
