"""Coordinate grids in [-1, 1]^d (endpoints included) and random samplers."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def grid(shape: Sequence[int], device=None, dtype=torch.float32) -> torch.Tensor:
    """Regular grid over [-1, 1]^d: shape (S_1, ..., S_d) -> coords (prod S, d), 'ij' order (last axis fastest).

    Axis i of length 1 sits at 0.
    """
    axes = [torch.linspace(-1.0, 1.0, s, device=device, dtype=dtype) if s > 1
            else torch.zeros(1, device=device, dtype=dtype) for s in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(shape))


def random_indices(total: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n distinct random indices in [0, total) (all of them, in order, when n >= total)."""
    if n >= total:
        return torch.arange(total)
    return torch.randperm(total, generator=generator)[:n]
