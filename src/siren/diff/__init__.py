"""Derivatives of a network's output w.r.t. its input coordinates.

`derivatives(model, coords, gradient=..., laplacian=..., hessian_diagonal=..., hessian=...)` is what tasks call:
it returns the value and the derivatives a loss names (a `Request`; see `siren.diff.request`), differentiable
w.r.t. the model's parameters. Two implementations give the same numbers (to round-off): `autograd` (reverse mode
with create_graph, any model) and `forward` (`forward_derivatives`: value, Jacobian and second-order blocks
propagated layer by layer with hand-written backward passes; coordinate MLPs built from Linear, SineLayer, the FINER,
Gauss and Gabor layers, the encodings and the elementwise activations of `siren.models`, several times cheaper;
a model it does not cover, such as the hash grid, goes through autograd). The autograd operators
`gradient`, `divergence`, `laplacian`, `jacobian`, `hessian` work on any (y, x) pair.
"""
from __future__ import annotations

import torch
from torch import nn

from .autograd import autograd_derivatives, divergence, gradient, hessian, jacobian, laplacian
from .forward import forward_derivatives, inference, supports_forward
from .request import Derivatives, Request

__all__ = ["gradient", "divergence", "laplacian", "jacobian", "hessian", "derivatives", "value_and_derivatives",
           "Request", "Derivatives", "forward_derivatives", "autograd_derivatives", "supports_forward", "inference", "MODES"]

MODES = ("auto", "forward", "autograd")


def derivatives(model: nn.Module, coords: torch.Tensor, request: Request | None = None, *, mode: str = "auto",
                **asked) -> Derivatives:
    """coords (N, d) (or (..., d)) -> `Derivatives` of model(coords): value (N, C), gradient (N, C, d), laplacian(axes) (N, C),
    hessian_diagonal (N, C, d), hessian (N, C, d, d), for what was asked.

    Ask with a `Request` or its keywords: gradient=True; laplacian=True (all axes), (1, 2) (one group) or
    [(0,), (1, 2)] (several groups); hessian_diagonal=True (per-axis second derivatives); hessian=True.
    mode: "autograd" (reverse mode with create_graph, any model), "forward" (`forward_derivatives`; raises
    ValueError when `supports_forward(model)` is False), or "auto" (forward when supported, else autograd).
    """
    if request is None:
        request = Request(**asked)
    elif asked:
        raise ValueError("pass a Request or its keywords, not both")
    if mode not in MODES:
        raise ValueError(f"unknown derivative mode {mode!r} (choose {', '.join(MODES)})")
    if mode == "forward" and not supports_forward(model):
        raise ValueError(f"mode='forward' does not support {type(model).__name__}: it needs model.net = "
                         "nn.Sequential of the layer types of siren.diff.forward._RULES (Linear, SineLayer, FINER, "
                         "Gauss and Gabor layers, the encodings, elementwise activations) (use mode='auto' or "
                         "'autograd')")
    lead = coords.shape[:-1]
    x = coords.reshape(-1, coords.shape[-1])
    if mode == "forward" or (mode == "auto" and supports_forward(model)):
        out = forward_derivatives(model, x, request)
    else:
        out = autograd_derivatives(model, x, request)
    return out if len(lead) == 1 else out.unflatten(lead)


def value_and_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                          mode: str = "auto"):
    """The common case as a tuple: coords (N, d) -> (value (N, C), gradient (N, C, d) or None, Laplacian over every
    axis (N, C) or None). gradient[n, c, i] = d value_c / d x_i;  laplacian[n, c] = sum_i d2 value_c / d x_i2."""
    out = derivatives(model, coords, gradient=gradient, laplacian=laplacian, mode=mode)
    return out.value, out.gradient, (out.laplacian() if laplacian else None)
