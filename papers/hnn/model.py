"""Stage 2 models of "Hamiltonian Neural Networks" (arXiv 1906.01563, §3–4).

Both share one MLP body, 2 → 200 → 200 → out with tanh, orthogonal weights (official nn_models.py;
the output layer has no bias). They differ in what the output means:

    baseline:  MLP(q, p) = (dq/dt, dp/dt)                       predicts the vector field
    hnn:       MLP(q, p) = H_θ(q, p),  field = (∂H_θ/∂p, −∂H_θ/∂q)  (eq. 2, symplectic gradient)

Both are trained on the same L2 loss against the true time derivatives (eq. 3 / eq. 4).
"""

from __future__ import annotations

import torch
from torch import nn

from workbench import ConfigError

from .components import symplectic_gradient


class MLP(nn.Module):
    def __init__(self, input_dim: int, hidden: int, output_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(input_dim, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, output_dim, bias=False)
        for layer in (self.linear1, self.linear2, self.linear3):
            nn.init.orthogonal_(layer.weight)  # §3 / nn_models.py: "a principled initialization"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.linear1(x))
        h = torch.tanh(self.linear2(h))
        return self.linear3(h)


class BaselineNN(nn.Module):
    """§3 "Baseline NN": the MLP regresses (dq/dt, dp/dt) directly."""

    def __init__(self, hidden: int = 200) -> None:
        super().__init__()
        self.mlp = MLP(2, hidden, 2)

    def time_derivative(self, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        return self.mlp(x)


class HNN(nn.Module):
    """§3 "Hamiltonian Neural Network": the MLP outputs a scalar H_θ; the field is its symplectic gradient."""

    def __init__(self, hidden: int = 200) -> None:
        super().__init__()
        self.mlp = MLP(2, hidden, 1)

    def hamiltonian(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x).squeeze(-1)

    def time_derivative(self, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        with torch.enable_grad():  # evaluation runs under no_grad; the field needs ∂H/∂x
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            return symplectic_gradient(self.hamiltonian(x), x, create_graph)


def build_model(name: str, hidden: int) -> nn.Module:
    if name == "baseline":
        return BaselineNN(hidden)
    if name == "hnn":
        return HNN(hidden)
    raise ConfigError(f"model.name={name} is not one of baseline, hnn")
