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

from collections.abc import Callable

import torch
from torch import nn


class GaussLayer(nn.Module):
    """h -> exp(-(scale z)^2), z = W h + b.  x: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features: int, out_features: int, scale: float = 10.0):
        super().__init__()
        self.scale = float(scale)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(self.scale * self.linear(x)) ** 2)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class GaborLayer(nn.Module):
    """h -> cos(omega_0 z) exp(-(scale z)^2), z = W h + b: the real Gabor wavelet.
    x: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features: int, out_features: int, omega_0: float = 20.0, scale: float = 10.0):
        super().__init__()
        self.omega_0, self.scale = float(omega_0), float(scale)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        return torch.cos(self.omega_0 * z) * torch.exp(-(self.scale * z) ** 2)

    def extra_repr(self) -> str:
        return f"omega_0={self.omega_0}, scale={self.scale}"


class WaveletMLP(nn.Module):
    """in -> hidden (hidden_layers + 1 layers `layer(w_in, w_out, is_first)`) -> nn.Linear out, laid out as `Siren`.
    coords: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features: int, hidden_features: int, hidden_layers: int, out_features: int,
                 layer: Callable[[int, int, bool], nn.Module]):
        super().__init__()
        if hidden_layers < 0 or hidden_features < 1 or in_features < 1 or out_features < 1:
            raise ValueError(f"{type(self).__name__} needs in/out/hidden_features >= 1 and hidden_layers >= 0")
        self.in_features, self.out_features = in_features, out_features
        self.net = nn.Sequential(layer(in_features, hidden_features, True),
                                 *[layer(hidden_features, hidden_features, False) for _ in range(hidden_layers)],
                                 nn.Linear(hidden_features, out_features))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.net(coords)


class Gauss(WaveletMLP):
    """Gaussian-activated MLP: every hidden layer a GaussLayer of the same `scale`."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 scale: float = 10.0):
        super().__init__(in_features, hidden_features, hidden_layers, out_features,
                         lambda i, o, first: GaussLayer(i, o, scale))


class Wire(WaveletMLP):
    """WIRE with the real Gabor wavelet: GaborLayers of omega_0 = first_omega_0 (first) or hidden_omega_0."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 20.0, hidden_omega_0: float = 20.0, scale: float = 10.0):
        super().__init__(in_features, hidden_features, hidden_layers, out_features,
                         lambda i, o, first: GaborLayer(i, o, first_omega_0 if first else hidden_omega_0, scale))
