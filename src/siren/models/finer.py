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

from torch import nn

from .activations import FinerSine, siren_uniform_
from .mlp import CoordinateMLP

__all__ = ["Finer"]


class Finer(CoordinateMLP):
    """The FINER MLP, laid out as `Siren`: in -> hidden (x hidden_layers + 1 FINER layers) -> linear out.
    coords: (..., in_features) -> (..., out_features). The output layer is drawn before the hidden ones (a seed gives the same network as earlier versions)."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, first_bias_scale: float | None = None,
                 latent_features: int = 0):
        last = nn.Linear(hidden_features, out_features) if hidden_features >= 1 and out_features >= 1 else None
        if last is not None:
            siren_uniform_(last.weight, first=False, omega_0=hidden_omega_0)
        super().__init__(in_features, hidden_features, hidden_layers, out_features,
                         lambda i: FinerSine(first_omega_0, first_bias_scale) if i == 0 else FinerSine(hidden_omega_0),
                         latent_features=latent_features, last=last)
