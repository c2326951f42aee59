"""Evaluating a trained network on regular grids, in chunks (shared by every task's evaluation and `siren render`).

Grids are `siren.data.grid.grid`: linspace(-1, 1, S_i) per axis, endpoints included, last axis fastest.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from . import diff
from .data.grid import grid

__all__ = ["render", "render_derivatives", "render_frames"]


@torch.no_grad()
def render(model, shape, chunk: int = 65_536) -> torch.Tensor:
    """Evaluate the model on a regular grid of `shape` over [-1, 1]^d, in chunks -> (*shape, C)."""
    p = next(model.parameters())
    coords = grid(shape, device=p.device, dtype=p.dtype)
    out = torch.cat([diff.inference(model, c) for c in coords.split(chunk)])
    return out.reshape(*shape, -1)


def render_derivatives(model, shape, chunk: int = 16_384, stride: int = 1):
    """Value, gradient and Laplacian on a grid, chunked -> (*S, C), (*S, C, d), (*S, C), detached.

    Derivatives are w.r.t. the [-1, 1] coordinates. stride s: on every s-th point of each axis of `shape`'s grid,
    S_i = ceil(shape_i / s) (a figure at display resolution of a large signal); s = 1: S = shape. Forward mode
    (`siren.diff.supports_forward`) runs without an autograd graph; other models go through autograd, a chunk at a
    time.
    """
    p = next(model.parameters())
    coords = grid(shape, device=p.device, dtype=p.dtype, stride=stride)
    shape = tuple(-(-n // stride) for n in shape)
    parts = []
    with torch.no_grad() if diff.supports_forward(model) else nullcontext():
        for c in coords.split(chunk):
            out = diff.derivatives(model, c, gradient=True, laplacian=True)
            parts.append((out.value.detach(), out.gradient.detach(), out.laplacian().detach()))
    y, g, lap = (torch.cat(p) for p in zip(*parts))
    return y.reshape(*shape, -1), g.reshape(*shape, *g.shape[1:]), lap.reshape(*shape, -1)


@torch.no_grad()
def render_frames(model, shape, frames=None, chunk: int = 65_536):
    """Yield (index, (H, W, C) prediction) for each frame index (default all) of a (T, H, W) grid over [-1, 1]^3.

    Frame i holds the coordinates (t_i, y, x) of `grid((T, H, W))`, evaluated in chunks of `chunk` points.
    """
    t, h, w = shape
    p = next(model.parameters())
    times, space = grid((t,), device=p.device, dtype=p.dtype)[:, 0], grid((h, w), device=p.device, dtype=p.dtype)
    for i in range(t) if frames is None else frames:
        coords = torch.cat([times[i].expand(h * w, 1), space], dim=1)
        yield i, torch.cat([diff.inference(model, c) for c in coords.split(chunk)]).reshape(h, w, -1)
