"""Layers h -> f(W h + b (+ shift)): a linear map and an `Activation`, initialised by the activation's rule.
Drop-ins for a network of your own; `siren.diff` differentiates any nn.Sequential of them (with nn.Linear, the
activations and the encodings) in forward mode.

    ActivatedLinear(in, out, activation, is_first)    any activation
    SineLayer(in, out, omega_0, is_first)             sin(omega_0 (W h + b)), SIREN's init
    FinerLayer(in, out, omega_0, is_first, bias_scale)  sin(omega_0 (|z| + 1) z); bias_scale k: b ~ U(-k, k)
    GaussLayer(in, out, scale), GaborLayer(in, out, omega_0, scale)

x: (..., in_features) -> (..., out_features). `shift` (broadcastable to the output): a FiLM shift added to the
pre-activation (a modulation, `CoordinateMLP(latent_features=...)`).
"""
from __future__ import annotations

import torch
from torch import nn

from .activations import Activation, FinerSine, Gabor, Gaussian, Sine

__all__ = ["ActivatedLinear", "SineLayer", "FinerLayer", "GaussLayer", "GaborLayer"]


class ActivatedLinear(nn.Module):
    """h -> activation(W h + b (+ shift)); W initialised by `activation.init_(linear, is_first)`."""

    def __init__(self, in_features: int, out_features: int, activation: Activation, is_first: bool = False):
        super().__init__()
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features)
        self.activation = activation
        activation.init_(self.linear, is_first)

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        z = self.linear(x)
        return self.activation(z if shift is None else z + shift)

    @property
    def omega_0(self) -> float:
        return self.activation.omega_0

    def extra_repr(self) -> str:
        return f"is_first={self.is_first}"


class SineLayer(ActivatedLinear):
    """h -> sin(omega_0 (W h + b)), SIREN's init (`Sine`): W ~ U(-1/n, 1/n) if `is_first`, else
    U(+-sqrt(6/n)/omega_0). The first layer's omega_0 (30 in the paper) sets the frequencies the network starts
    with over inputs in [-1, 1]; hidden layers keep omega_0 = 30 (their init divides by it)."""

    def __init__(self, in_features: int, out_features: int, omega_0: float = 30.0, is_first: bool = False):
        super().__init__(in_features, out_features, Sine(omega_0), is_first)


class FinerLayer(ActivatedLinear):
    """h -> sin(omega_0 (|z| + 1) z), z = W h + b (`FinerSine`); weights as a SineLayer's; `bias_scale` k: the
    bias ~ U(-k, k) (else PyTorch's)."""

    def __init__(self, in_features: int, out_features: int, omega_0: float = 30.0, is_first: bool = False,
                 bias_scale: float | None = None):
        super().__init__(in_features, out_features, FinerSine(omega_0, bias_scale), is_first)


class GaussLayer(ActivatedLinear):
    """h -> exp(-(scale z)^2), z = W h + b (`Gaussian`), PyTorch's init."""

    def __init__(self, in_features: int, out_features: int, scale: float = 10.0):
        super().__init__(in_features, out_features, Gaussian(scale))


class GaborLayer(ActivatedLinear):
    """h -> cos(omega_0 z) exp(-(scale z)^2), z = W h + b (`Gabor`, WIRE's real wavelet), PyTorch's init."""

    def __init__(self, in_features: int, out_features: int, omega_0: float = 20.0, scale: float = 10.0):
        super().__init__(in_features, out_features, Gabor(omega_0, scale))
