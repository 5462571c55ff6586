"""Stage 1 components of "Physics Informed Deep Learning (Part I)" (Raissi, Perdikaris, Karniadakis;
arXiv 1711.10561), §3.1 continuous-time inference, Burgers' equation (eq. 3):

    u_t + u u_x − (0.01/π) u_xx = 0,  x ∈ [−1, 1], t ∈ [0, 1],
    u(0, x) = −sin(πx),  u(t, −1) = u(t, 1) = 0.

The PINN is trained on MSE = MSE_u + MSE_f (eq. 4): MSE_u on N_u initial/boundary points,
MSE_f on N_f collocation points where f := u_t + u u_x − ν u_xx (eq. 3) should vanish.
"""

from __future__ import annotations

import numpy as np
import torch

NU = 0.01 / np.pi  # eq. 3


# ----------------------------------------------------------------- the exact solution


def hopf_cole_burgers(x: np.ndarray, t: np.ndarray, nu: float = NU, n_quad: int = 100) -> np.ndarray:
    """Exact u(t, x) for u(0, x) = −sin(πx) by the Hopf–Cole transform, Gauss–Hermite quadrature.

    u = −2ν φ_x / φ turns eq. 3 into the heat equation φ_t = ν φ_xx, φ(0, y) = exp(−cos(πy)/(2πν)).
    Its solution is a Gaussian convolution; with η = 2√(νt)·z:

        u(t, x) = −∫ sin(π(x − η)) w(x − η) e^{−z²} dz / ∫ w(x − η) e^{−z²} dz,
        w(y) = exp(−cos(πy)/(2πν)),

    both integrals by n_quad-point Gauss–Hermite (100 nodes agree with the paper's Chebfun data to 4e-11;
    numpy's hermgauss overflows beyond ~350 nodes). The boundary values u(t, ±1) = 0 hold by symmetry
    (w is even about ±1, sin is odd). x: nx, t: nt -> u: nt nx (rows are times, as the paper's grid).
    """
    z, weights = np.polynomial.hermite.hermgauss(n_quad)
    u = np.empty((len(t), len(x)))
    for i, ti in enumerate(t):
        if ti == 0:
            u[i] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - 2 * np.sqrt(nu * ti) * z[None, :]          # nx q
        exponent = -np.cos(np.pi * y) / (2 * np.pi * nu)
        w = weights * np.exp(exponent - exponent.max(axis=1, keepdims=True))  # shift: e^{±50} stays finite
        u[i] = -(np.sin(np.pi * y) * w).sum(axis=1) / w.sum(axis=1)
    return u


def paper_grid(nx: int = 256, nt: int = 100, t_max: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """The grid of the paper's burgers_shock.mat: 256 x in [−1, 1], 100 t = 0, 0.01, …, 0.99."""
    return np.linspace(-1.0, 1.0, nx), np.linspace(0.0, t_max, nt)


# ----------------------------------------------------------------- training points (§3.1)


def boundary_points(x: np.ndarray, t: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All initial and boundary grid points and their u, as the official code stacks them:
    t = 0 (all x), then x = −1 (all t), then x = 1 (all t). Returns (x, t) pairs n 2 and u n 1."""
    X, T = np.meshgrid(x, t)  # nt nx
    xt = np.vstack([np.stack([X[0], T[0]], 1), np.stack([X[:, 0], T[:, 0]], 1), np.stack([X[:, -1], T[:, -1]], 1)])
    values = np.concatenate([u[0], u[:, 0], u[:, -1]])[:, None]
    return xt, values


def latin_hypercube(n: int, lb: np.ndarray, ub: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """N_f collocation points, "a space filling Latin Hypercube Sampling strategy" (§3.1), n 2, drawn as
    pyDOE's lhs(2, n) (Burgers.py) draws them: one uniform point in each of n strata per dimension,
    then each dimension's strata shuffled, in that order from numpy's legacy generator."""
    cut = np.linspace(0, 1, n + 1)
    strata = rng.rand(n, len(lb)) * (cut[1:] - cut[:-1])[:, None] + cut[:-1, None]
    unit = np.stack([strata[rng.permutation(n), j] for j in range(len(lb))], axis=1)
    return lb + (ub - lb) * unit


def training_points(n_boundary: int, n_u: int, n_f: int, lb: np.ndarray, ub: np.ndarray,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The official draws: Burgers.py seeds numpy with 1234, then lhs(2, N_f), then
    np.random.choice(456, N_u, replace=False) from the same stream, so with seed 1234 these are its
    very points. Returns the N_f collocation points (n_f 2) and the indices of the N_u data points."""
    rng = np.random.RandomState(seed)
    xt_f = latin_hypercube(n_f, lb, ub, rng)
    return xt_f, rng.choice(n_boundary, n_u, replace=False)


# ----------------------------------------------------------------- the physics (eq. 3) and the metric


def burgers_residual(u_fn, x: torch.Tensor, t: torch.Tensor, nu: float = NU) -> torch.Tensor:
    """f = u_t + u u_x − ν u_xx at (x, t), derivatives by autograd (eq. 3). x, t: n 1 -> f: n 1."""
    x = x.detach().requires_grad_(True)
    t = t.detach().requires_grad_(True)
    u = u_fn(x, t)
    u_t, u_x = torch.autograd.grad(u.sum(), (t, x), create_graph=True)
    (u_xx,) = torch.autograd.grad(u_x.sum(), x, create_graph=True)
    return residual_from_derivatives(u, u_t, u_x, u_xx, nu)


def residual_from_derivatives(u: torch.Tensor, u_t: torch.Tensor, u_x: torch.Tensor, u_xx: torch.Tensor,
                              nu: float = NU) -> torch.Tensor:
    """f = u_t + u u_x − ν u_xx (eq. 3) from u and its derivatives, however they were computed."""
    return u_t + u * u_x - nu * u_xx


def relative_l2(pred: np.ndarray | torch.Tensor, exact: np.ndarray | torch.Tensor) -> float:
    """‖u_pred − u‖₂ / ‖u‖₂ over the whole grid: the paper's "relative L2 error" (Tables 1–2)."""
    pred, exact = np.asarray(pred, dtype=np.float64).ravel(), np.asarray(exact, dtype=np.float64).ravel()
    return float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))
