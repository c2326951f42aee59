"""SIREN: sine-activated MLP with the paper's initialization (Sitzmann et al. 2020, sec. 3.2).

Phi(x) = W_n (phi_{n-1} o ... o phi_0)(x) + b_n,   phi_i(h) = sin(omega_i * (W_i h + b_i)).
omega multiplies the whole pre-activation, bias included.

Init (n = fan-in): first layer W ~ U(-1/n, 1/n); every later layer, the outermost linear one included,
W ~ U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0) with omega_0 the hidden omega. Biases keep PyTorch's
default U(-1/sqrt(n), 1/sqrt(n)). The layers are `siren.models.layers.SineLayer` (activation `Sine`).
"""
from __future__ import annotations

from .activations import Sine
from .mlp import CoordinateMLP

__all__ = ["Siren"]


class Siren(CoordinateMLP):
    """The SIREN MLP.  coords: (..., in_features) -> (..., out_features).

    hidden_layers counts the sine layers after the first one, so the paper's default
    in -> 256 -> 256 -> 256 -> 256 -> out is Siren(in, 256, 3, out). latent_features: FiLM modulation
    (`CoordinateMLP`).
    """

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, outermost_linear: bool = True,
                 latent_features: int = 0):
        super().__init__(in_features, hidden_features, hidden_layers, out_features,
                         lambda i: Sine(first_omega_0 if i == 0 else hidden_omega_0),
                         outermost_linear=outermost_linear, latent_features=latent_features)
