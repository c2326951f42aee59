"""Baseline MLPs of the paper (ReLU, tanh, softplus, ELU, SELU, sigmoid), optionally behind an input encoding.

Inits (n = fan-in): Kaiming normal for relu/softplus, Xavier normal for tanh/sigmoid, N(0, 1/n) for selu,
N(0, 1.5505/n) for elu. Biases keep PyTorch's default.
"""
from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus, "elu": nn.ELU, "selu": nn.SELU,
               "sigmoid": nn.Sigmoid}


@torch.no_grad()
def init_linear_(linear: nn.Linear, activation: str) -> None:
    """The paper's per-activation weight init, in place."""
    w, n = linear.weight, linear.weight.shape[1]
    if activation in ("relu", "softplus"):
        nn.init.kaiming_normal_(w, nonlinearity="relu", mode="fan_in")
    elif activation in ("tanh", "sigmoid"):
        nn.init.xavier_normal_(w)
    elif activation == "selu":
        w.normal_(0.0, math.sqrt(1.0 / n))
    elif activation == "elu":
        w.normal_(0.0, math.sqrt(1.5505 / n))
    else:
        raise ValueError(f"no init for activation {activation!r}")


class MLP(nn.Module):
    """encoding? -> Linear -> act -> (hidden_layers x [Linear -> act]) -> Linear.

    coords: (..., in_features) -> (..., out_features). Layer count matches Siren(in, hidden, hidden_layers, out).
    """

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 activation: str = "relu", encoding: nn.Module | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
        if hidden_layers < 0 or hidden_features < 1 or in_features < 1 or out_features < 1:
            raise ValueError("MLP needs in/out/hidden_features >= 1 and hidden_layers >= 0")
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        layers: list[nn.Module] = [] if encoding is None else [encoding]
        width = in_features if encoding is None else encoding.out_features
        for _ in range(hidden_layers + 1):
            lin = nn.Linear(width, hidden_features)
            init_linear_(lin, activation)
            layers += [lin, ACTIVATIONS[activation]()]
            width = hidden_features
        last = nn.Linear(width, out_features)
        init_linear_(last, activation)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)
