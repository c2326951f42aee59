"""Derivatives of a network's output w.r.t. its input coordinates.

`value_and_derivatives` is what tasks call: it returns the value and the derivatives a loss needs, and is
differentiable w.r.t. the model's parameters.
"""
from __future__ import annotations

import torch
from torch import nn

from .autograd import divergence, gradient, hessian, jacobian, laplacian

__all__ = ["gradient", "divergence", "laplacian", "jacobian", "hessian", "value_and_derivatives"]


def value_and_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                          mode: str = "auto"):
    """coords (N, d) -> (value (N, C), gradient (N, C, d) or None, laplacian (N, C) or None).

    mode: "autograd" (reverse mode, any model), "forward" (fast path), or "auto" (forward when supported).
    """
    if mode not in ("auto", "autograd"):
        raise ValueError(f"unknown derivative mode {mode!r} (choose auto or autograd)")
    from . import autograd as ag
    x = coords if coords.requires_grad else coords.detach().requires_grad_(True)
    y = model(x)
    grad = ag.gradient(y, x) if (gradient or laplacian) else None
    lap = ag.divergence(grad, x) if laplacian else None
    return y, (grad if gradient else None), lap
