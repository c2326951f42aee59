"""MLPs with localized activations: Gaussian (Ramasinghe & Lucey, "Beyond Periodicity: Towards a Unifying Framework
for Activations in Coordinate-MLPs", ECCV 2022) and the real Gabor wavelet of WIRE (Saragadam et al., "WIRE: Wavelet
Implicit Neural Representations", CVPR 2023; github.com/vishwa91/wire).

Phi(x) = W_n (phi_{n-1} o ... o phi_0)(x) + b_n with z = W_i h + b_i and

    gauss   phi(z) = exp(-(s z)^2)                        (the paper's exp(-z^2 / (2 sigma^2)), s = 1/(sqrt 2 sigma))
    wire    phi(z) = cos(omega_0 z) exp(-(s z)^2)         (omega_0 of the first layer and of the hidden ones apart)

Init as the authors' code (WIRE's repository holds both): PyTorch's default nn.Linear init everywhere, the outermost
linear layer included. Defaults: s = 10 (the Gauss INR of WIRE's repository; FINER's comparison scripts use 30),
WIRE omega_0 = 20 and s = 10 (WIRE's image scripts).

Differs from the authors' code: WIRE's results use the complex Gabor exp(i omega_0 z - |s z|^2) with complex
weights (hidden width divided by sqrt 2) and the real part of a complex output layer; its `RealGaborLayer` uses two
separate linear maps for the frequency and the envelope. `wire` here is the real part of the complex Gabor of one
real z: real weights, one linear map per layer, the given width.
"""
from __future__ import annotations

from .activations import Gabor, Gaussian
from .mlp import CoordinateMLP

__all__ = ["Gauss", "Wire"]


class Gauss(CoordinateMLP):
    """Gaussian-activated MLP, laid out as `Siren`: every hidden layer exp(-(scale z)^2) (`GaussLayer`)."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 scale: float = 10.0, latent_features: int = 0):
        super().__init__(in_features, hidden_features, hidden_layers, out_features, lambda i: Gaussian(scale),
                         latent_features=latent_features)


class Wire(CoordinateMLP):
    """WIRE with the real Gabor wavelet (`GaborLayer`): omega_0 = first_omega_0 (first layer) or hidden_omega_0."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 20.0, hidden_omega_0: float = 20.0, scale: float = 10.0,
                 latent_features: int = 0):
        super().__init__(in_features, hidden_features, hidden_layers, out_features,
                         lambda i: Gabor(first_omega_0 if i == 0 else hidden_omega_0, scale),
                         latent_features=latent_features)
