"""Stage 2 model of "Physics Informed Deep Learning (Part I)" (arXiv 1711.10561), §3.1.

u(t, x) is a plain tanh MLP, layers [2, 20, 20, 20, 20, 20, 20, 20, 20, 1] ("9 layers with 20
neurons per hidden layer", §3.1; the official Burgers.py `layers` list): 8 hidden layers, 9 weight
matrices. As the official code: inputs scaled to [−1, 1] by the domain bounds, Xavier-normal
weights truncated at 2σ, zero biases, linear output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class PINN(nn.Module):
    def __init__(self, layers: Sequence[int], lb: Sequence[float], ub: Sequence[float]) -> None:
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:]))
        for linear in self.linears:
            std = (2.0 / (linear.in_features + linear.out_features)) ** 0.5  # xavier_init in Burgers.py
            nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)  # tf.truncated_normal: ±2σ
            nn.init.zeros_(linear.bias)
        self.register_buffer("lb", torch.tensor(lb, dtype=torch.get_default_dtype()))
        self.register_buffer("ub", torch.tensor(ub, dtype=torch.get_default_dtype()))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x, t: n 1 -> u: n 1."""
        h = 2.0 * (torch.cat([x, t], dim=1) - self.lb) / (self.ub - self.lb) - 1.0
        for linear in self.linears[:-1]:
            h = torch.tanh(linear(h))
        return self.linears[-1](h)

    def with_derivatives(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """u, u_t, u_x, u_xx at (x, t), each n 1, by carrying the derivatives forward through the layers.

        The same numbers as autograd's u_t, u_x and u_xx (components.burgers_residual), but one
        ordinary backward pass trains through them instead of a double backward, and
        torch.compile can fuse the whole loss (experiment.py). Per layer z = W h + b:
        z' = W h', z'' = W h''; through a = tanh z: a' = (1 − a²) z', a'' = −2a(1 − a²) z'² + (1 − a²) z''.
        """
        scale = 2.0 / (self.ub - self.lb)
        first = self.linears[0]
        h = torch.tanh(first(scale * (torch.cat([x, t], dim=1) - self.lb) - 1.0))
        dh = 1 - h * h
        h_x, h_t = dh * (first.weight[:, 0] * scale[0]), dh * (first.weight[:, 1] * scale[1])
        h_xx = -2 * h * h_x * (first.weight[:, 0] * scale[0])  # the input is linear in x: z_xx = 0
        for linear in self.linears[1:-1]:
            z_x, z_t, z_xx = h_x @ linear.weight.T, h_t @ linear.weight.T, h_xx @ linear.weight.T
            h = torch.tanh(linear(h))
            dh = 1 - h * h
            h_x, h_t, h_xx = dh * z_x, dh * z_t, dh * z_xx - 2 * h * dh * z_x * z_x
        last = self.linears[-1]
        return last(h), h_t @ last.weight.T, h_x @ last.weight.T, h_xx @ last.weight.T


def layer_sizes(depth: int, width: int) -> list[int]:
    """[2, width × depth, 1]: Table 2's "layers" counts hidden layers (Burgers_systematic.py)."""
    return [2, *([width] * depth), 1]
