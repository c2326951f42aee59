"""SIREN: sine-activated MLP with the paper's initialization (Sitzmann et al. 2020, sec. 3.2).

Phi(x) = W_n (phi_{n-1} o ... o phi_0)(x) + b_n,   phi_i(h) = sin(omega_i * (W_i h + b_i)).
omega multiplies the whole pre-activation, bias included.

Init (n = fan-in): first layer W ~ U(-1/n, 1/n); every later layer, the outermost linear one included,
W ~ U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0) with omega_0 the hidden omega. Biases keep PyTorch's
default U(-1/sqrt(n), 1/sqrt(n)).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class SineLayer(nn.Module):
    """h -> sin(omega_0 * (W h + b)).  x: (..., in_features) -> (..., out_features).

    `is_first` selects the first-layer init U(-1/n, 1/n); otherwise U(+-sqrt(6/n)/init_omega).
    `init_omega` defaults to `omega_0` (the paper's rule: the bound uses the omega of the layer's own sine).
    """

    def __init__(self, in_features: int, out_features: int, omega_0: float = 30.0, is_first: bool = False,
                 init_omega: float | None = None):
        super().__init__()
        self.omega_0 = float(omega_0)
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, first=is_first, omega_0=self.omega_0 if init_omega is None else init_omega)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega_0 * self.linear(x))

    def extra_repr(self) -> str:
        return f"omega_0={self.omega_0}, is_first={self.is_first}"


@torch.no_grad()
def siren_uniform_(weight: torch.Tensor, first: bool, omega_0: float) -> torch.Tensor:
    """In place: W ~ U(-1/n, 1/n) if `first`, else U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0); n = fan-in."""
    n = weight.shape[1]
    bound = 1.0 / n if first else math.sqrt(6.0 / n) / omega_0
    return weight.uniform_(-bound, bound)


class Siren(nn.Module):
    """The SIREN MLP.  coords: (..., in_features) -> (..., out_features).

    hidden_layers counts the sine layers after the first one, so the paper's default
    in -> 256 -> 256 -> 256 -> 256 -> out is Siren(in, 256, 3, out).
    """

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, outermost_linear: bool = True):
        super().__init__()
        if hidden_layers < 0 or hidden_features < 1 or in_features < 1 or out_features < 1:
            raise ValueError("Siren needs in/out/hidden_features >= 1 and hidden_layers >= 0")
        self.in_features, self.out_features = in_features, out_features
        layers: list[nn.Module] = [SineLayer(in_features, hidden_features, first_omega_0, is_first=True)]
        layers += [SineLayer(hidden_features, hidden_features, hidden_omega_0) for _ in range(hidden_layers)]
        if outermost_linear:
            last = nn.Linear(hidden_features, out_features)
            siren_uniform_(last.weight, first=False, omega_0=hidden_omega_0)
            layers.append(last)
        else:
            layers.append(SineLayer(hidden_features, out_features, hidden_omega_0))
        self.net = nn.Sequential(*layers)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)
