"""Derivatives of a network's output w.r.t. its input coordinates.

`derivatives(model, coords, gradient=..., laplacian=..., hessian_diagonal=..., hessian=...)` is what tasks call:
it returns the value and the derivatives a loss names (a `Request`; see `siren.diff.request`), differentiable
w.r.t. the model's parameters. Two implementations give the same numbers (to round-off): `autograd` (reverse mode
with create_graph, any model) and `forward` (`forward_derivatives`: value, Jacobian and second-order blocks
propagated layer by layer with hand-written backward passes, by the rules each activation states; any nn.Sequential
of nn.Linear, activated layers, activations and encodings; several times cheaper; a model it does not cover, such
as the hash grid, goes through autograd). The autograd operators
`gradient`, `divergence`, `laplacian`, `jacobian`, `hessian` work on any (y, x) pair.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from .autograd import autograd_derivatives, divergence, gradient, hessian, jacobian, laplacian
from .forward import _forward, _layers as forward_layers, forward_derivatives, inference, supports_forward, unsupported
from .request import Derivatives, Request

__all__ = ["gradient", "divergence", "laplacian", "jacobian", "hessian", "derivatives", "value_and_derivatives",
           "Request", "Derivatives", "forward_derivatives", "autograd_derivatives", "supports_forward", "inference", "prefers_autograd", "MODES"]

MODES = ("auto", "forward", "autograd")


_WARNED: set = set()


def derivatives(model: nn.Module, coords: torch.Tensor, request: Request | None = None, *, mode: str = "auto",
                latent: torch.Tensor | None = None, **asked) -> Derivatives:
    """coords (N, d) (or (..., d)) -> `Derivatives` of model(coords): value (N, C), gradient (N, C, d),
    laplacian(axes) (N, C), hessian_diagonal (N, C, d), hessian (N, C, d, d), for what was asked.

    Ask with a `Request` or its keywords: gradient=True; laplacian=True (all axes), (1, 2) (one group) or
    [(0,), (1, 2)] (several groups); hessian_diagonal=True (per-axis second derivatives); hessian=True.
    latent: a modulated network's latent (`siren.models.CoordinateMLP`): (L,) for all points, one per point
    (coords' leading shape, L), or (B, L) for coords (B, N, d).
    mode: "autograd" (reverse mode with create_graph, any model), "forward" (`forward_derivatives`; raises
    ValueError when `supports_forward(model)` is False), or "auto": forward when it covers the model (else
    autograd; a layered model with a module it cannot take says so once per class in a warning), except where autograd is the faster path
    (`prefers_autograd`).
    """
    if request is None:
        request = Request(**asked)
    elif asked:
        raise ValueError("pass a Request or its keywords, not both")
    if mode not in MODES:
        raise ValueError(f"unknown derivative mode {mode!r} (choose {', '.join(MODES)})")
    missing = None if mode == "autograd" else unsupported(model)
    if mode == "forward" and missing is not None:
        raise ValueError(f"mode='forward' does not support {type(model).__name__}: {missing} has no forward-mode "
                         "rule (see siren.diff.forward.supports_forward; use mode='auto' or 'autograd')")
    if mode == "auto" and missing is not None and forward_layers(model) and type(model).__name__ not in _WARNED:
        _WARNED.add(type(model).__name__)
        warnings.warn(f"derivatives of this {type(model).__name__} go through autograd: forward mode has no rule "
                      f"for {missing}", stacklevel=2)
    lead, d = coords.shape[:-1], coords.shape[-1]
    x = coords.reshape(-1, d)
    if latent is not None and 2 <= latent.dim() == coords.dim() - 1:     # one latent per signal: one per point
        latent = latent.unsqueeze(-2).expand(*lead, latent.shape[-1])
    if latent is not None and latent.dim() > 1:
        latent = latent.reshape(-1, latent.shape[-1])
    if mode == "forward" or (mode == "auto" and missing is None and not prefers_autograd(model, request)):
        out = _forward(model, x, request, True, "auto", latent)
    else:
        out = autograd_derivatives(model if latent is None else (lambda c: model(c, latent)), x, request)
    return out if len(lead) == 1 else out.unflatten(lead)


def prefers_autograd(model: nn.Module, request: Request) -> bool:
    """Whether autograd is the faster path for this model and request (benchmarks/speed.py measures every family
    and request kind both ways): a network whose activations are modules of their own beside nn.Linear (the
    baselines' layout) runs its jet on plain torch ops, which pays only for second derivatives."""
    layers = forward_layers(model) or []
    split = any(callable(getattr(m, "taylor", None)) for m in layers)
    return split and not request.second_order


def value_and_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                          mode: str = "auto"):
    """The common case as a tuple: coords (N, d) -> (value (N, C), gradient (N, C, d) or None, Laplacian over every
    axis (N, C) or None). gradient[n, c, i] = d value_c / d x_i;  laplacian[n, c] = sum_i d2 value_c / d x_i2."""
    out = derivatives(model, coords, gradient=gradient, laplacian=laplacian, mode=mode)
    return out.value, out.gradient, (out.laplacian() if laplacian else None)
