"""Derivatives of a pointwise network output w.r.t. its input, by reverse-mode autograd (the reference path).

All operators assume row n of y depends only on row n of x (true for coordinate MLPs), so one vector-Jacobian
product per output channel gives every per-point derivative at once. They keep the graph (create_graph=True),
so results can be used inside a loss. Unlike the reference code, channels are never summed.

Shapes: x (N, d) with requires_grad; y (N, C).
"""
from __future__ import annotations

import torch


def _grad(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """d(sum out)/dx, zeros where out does not depend on x."""
    g, = torch.autograd.grad(out.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def gradient(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-channel gradient: y (N, C), x (N, d) -> (N, C, d), [n, c, i] = dy_c/dx_i at point n."""
    if y.dim() == 1:
        y = y[:, None]
    return torch.stack([_grad(y[:, c], x) for c in range(y.shape[1])], dim=1)


def jacobian(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Jacobian of a vector field: y (N, C), x (N, d) -> (N, C, d); the same numbers as `gradient`."""
    return gradient(y, x)


def divergence(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """div v = sum_i dv_i/dx_i.  v (N, ..., d), x (N, d) -> (N, ...)."""
    flat = v.reshape(v.shape[0], -1, v.shape[-1])
    out = torch.stack([sum(_grad(flat[:, c, i], x)[:, i] for i in range(flat.shape[-1]))
                       for c in range(flat.shape[1])], dim=1)
    return out.reshape(v.shape[:-1])


def laplacian(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-channel Laplacian sum_i d2y_c/dx_i2: y (N, C), x (N, d) -> (N, C)."""
    return divergence(gradient(y, x), x)


def hessian(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-channel Hessian: y (N, C), x (N, d) -> (N, C, d, d), [n, c, i, j] = d2y_c/dx_i dx_j."""
    g = gradient(y, x)
    return torch.stack([gradient(g[:, :, i], x) for i in range(x.shape[-1])], dim=2)


def autograd_derivatives(model, coords: torch.Tensor, request):
    """The derivatives named by `request` (a `siren.diff.Request`) by reverse mode, for any model.

    coords (N, d) -> `Derivatives`. One vector-Jacobian product per output channel for the gradient, then one per
    channel for each Hessian row i that a requested block touches (row i = d/dx of dy/dx_i); a block is summed
    from those rows. Differentiable to any order (create_graph=True).
    """
    from .request import Derivatives
    d = coords.shape[-1]
    blocks = request.blocks(d)
    if not request.first_order:
        return Derivatives(model(coords), None, {}, d)
    x = coords if coords.requires_grad else coords.detach().requires_grad_(True)
    y = model(x)
    g = gradient(y, x)
    rows = {i: gradient(g[:, :, i], x) for i in sorted({i for pairs in blocks for i, _ in pairs})}
    second = {pairs: sum(rows[i][:, :, j] for i, j in pairs) for pairs in blocks}
    return Derivatives(y, g if request.gradient else None, second, d)
