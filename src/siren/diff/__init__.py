"""Derivatives of a network's output w.r.t. its input coordinates.

`value_and_derivatives` is what tasks call: it returns the value and the derivatives a loss needs, and is
differentiable w.r.t. the model's parameters. Two implementations give the same numbers (to round-off):
`autograd` (reverse mode with create_graph, any model) and `forward` (`forward_derivatives`: value, Jacobian and
Laplacian propagated layer by layer with hand-written backward passes; coordinate MLPs built from Linear,
SineLayer, the encodings and the elementwise activations of `siren.models`, several times cheaper).
"""
from __future__ import annotations

import torch
from torch import nn

from .autograd import divergence, gradient, hessian, jacobian, laplacian
from .forward import forward_derivatives, supports_forward

__all__ = ["gradient", "divergence", "laplacian", "jacobian", "hessian", "value_and_derivatives",
           "forward_derivatives", "supports_forward", "MODES"]

MODES = ("auto", "forward", "autograd")


def value_and_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                          mode: str = "auto"):
    """coords (N, d) -> (value (N, C), gradient (N, C, d) or None, laplacian (N, C) or None).

    gradient[n, c, i] = d value_c / d x_i;  laplacian[n, c] = sum_i d2 value_c / d x_i2.
    mode: "autograd" (reverse mode with create_graph, any model), "forward" (`forward_derivatives`; raises
    ValueError when `supports_forward(model)` is False), or "auto" (forward when supported, else autograd).
    """
    if mode not in MODES:
        raise ValueError(f"unknown derivative mode {mode!r} (choose {', '.join(MODES)})")
    if mode == "forward" and not supports_forward(model):
        raise ValueError(f"mode='forward' does not support {type(model).__name__}: it needs model.net = "
                         "nn.Sequential of nn.Linear, SineLayer, PositionalEncoding, FourierFeatures, RBFLayer and "
                         "ReLU/Tanh/Sigmoid/Softplus/ELU/SELU modules (use mode='auto' or 'autograd')")
    if mode == "forward" or (mode == "auto" and supports_forward(model)):
        return forward_derivatives(model, coords, gradient=gradient, laplacian=laplacian)
    if not (gradient or laplacian):
        return model(coords), None, None
    from . import autograd as ag
    x = coords if coords.requires_grad else coords.detach().requires_grad_(True)
    y = model(x)
    grad = ag.gradient(y, x)
    lap = ag.divergence(grad, x) if laplacian else None
    return y, (grad if gradient else None), lap
