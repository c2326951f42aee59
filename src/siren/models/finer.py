"""FINER: sine MLP with a variable-periodic activation (Liu et al., "FINER: Flexible spectral-bias tuning in Implicit
NEural Representation by Variable-periodic Activation Functions", CVPR 2024; github.com/liuzhen0212/FINER).

Phi(x) = W_n (phi_{n-1} o ... o phi_0)(x) + b_n,   phi_i(h) = sin(omega_i (|z| + 1) z),   z = W_i h + b_i.

The local frequency omega (|z| + 1) grows with |z|, so the bias range of the first layer selects which
sub-frequencies the network starts with: a wider first bias (U(-k, k), `first_bias_scale` k) spans more of them.

Init as the authors' code: weights as SIREN's (first layer U(-1/n, 1/n), later ones and the outermost linear layer
U(+-sqrt(6/n)/omega_0), n = fan-in); biases PyTorch's U(-1/sqrt(n), 1/sqrt(n)), the first layer's U(-k, k) when
`first_bias_scale` = k is given. Defaults as the authors' code and scripts: omega_0 = 30 for every layer,
first_bias_scale None (their default; the paper treats k as a tuning knob for the spectrum).

Differs from the authors' code: they detach the scale (|z| + 1) (`scale_req_grad=False`), so their autograd
derivative is omega (|z| + 1) cos(.), not the derivative of the function they evaluate. Here the scale is part of
the graph and every derivative is the true one, as PDE losses need:

    f(z) = sin(u),  u = omega (|z| + 1) z,  f'(z) = omega (2|z| + 1) cos(u),
    f''(z) = -omega^2 (2|z| + 1)^2 sin(u) + 2 omega sign(z) cos(u),

with the subgradient 0 for the kink of |z| at z = 0 (sign(0) = 0, as autograd differentiates |z|); f' is
continuous there, f'' jumps by 4 omega.
"""
from __future__ import annotations

import torch
from torch import nn

from .sine import siren_uniform_


class FinerLayer(nn.Module):
    """h -> sin(omega_0 (|z| + 1) z), z = W h + b.  x: (..., in_features) -> (..., out_features).

    Weights as a SineLayer's (`is_first`: U(-1/n, 1/n)); `bias_scale` k: the bias ~ U(-k, k) (else PyTorch's)."""

    def __init__(self, in_features: int, out_features: int, omega_0: float = 30.0, is_first: bool = False,
                 bias_scale: float | None = None):
        super().__init__()
        self.omega_0, self.is_first = float(omega_0), is_first
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, first=is_first, omega_0=self.omega_0)
        if bias_scale is not None:
            with torch.no_grad():
                self.linear.bias.uniform_(-bias_scale, bias_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        return torch.sin(self.omega_0 * (z.abs() + 1) * z)

    def extra_repr(self) -> str:
        return f"omega_0={self.omega_0}, is_first={self.is_first}"


class Finer(nn.Module):
    """The FINER MLP, laid out as `Siren`: in -> hidden (x hidden_layers + 1 FINER layers) -> linear out.
    coords: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, first_bias_scale: float | None = None):
        super().__init__()
        if hidden_layers < 0 or hidden_features < 1 or in_features < 1 or out_features < 1:
            raise ValueError("Finer needs in/out/hidden_features >= 1 and hidden_layers >= 0")
        self.in_features, self.out_features = in_features, out_features
        last = nn.Linear(hidden_features, out_features)
        siren_uniform_(last.weight, first=False, omega_0=hidden_omega_0)
        self.net = nn.Sequential(
            FinerLayer(in_features, hidden_features, first_omega_0, is_first=True, bias_scale=first_bias_scale),
            *[FinerLayer(hidden_features, hidden_features, hidden_omega_0) for _ in range(hidden_layers)], last)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)
