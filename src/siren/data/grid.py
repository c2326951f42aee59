"""Coordinate grids in [-1, 1]^d (endpoints included) and random samplers."""
from __future__ import annotations

from collections.abc import Sequence

import torch

SPARSE_DRAW = 16  # random_indices draws without a full permutation when n * SPARSE_DRAW <= total


def grid(shape: Sequence[int], device=None, dtype=torch.float32, stride: int = 1) -> torch.Tensor:
    """Regular grid over [-1, 1]^d: shape (S_1, ..., S_d) -> coords (prod S, d), 'ij' order (last axis fastest).

    Axis i of length 1 sits at 0. stride s keeps every s-th point of each axis (from the first): the points of the
    full grid at indices 0, s, 2s, ..., ceil(S_i / s) per axis.
    """
    axes = [(torch.linspace(-1.0, 1.0, s, device=device, dtype=dtype) if s > 1
             else torch.zeros(1, device=device, dtype=dtype))[::stride] for s in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(shape))


def random_indices(total: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n distinct random indices in [0, total), every n-subset equally likely (all of them, in order, when
    n >= total). A permutation of all total indices when n is at least total / SPARSE_DRAW (O(total) per call);
    otherwise independent draws with the repeats removed, topped up until n are distinct, then a random n of them
    (O(n log n) per call, whatever the total: a step on a 4096 px image or an hour of audio costs the same)."""
    if n >= total:
        return torch.arange(total)
    if n * SPARSE_DRAW > total:
        return torch.randperm(total, generator=generator)[:n]
    drawn = torch.empty(0, dtype=torch.long)
    while len(drawn) < n:
        more = torch.randint(total, (n - len(drawn) + n // 8 + 16,), generator=generator)
        drawn = torch.cat([drawn, more]).unique()
    return drawn[torch.randperm(len(drawn), generator=generator)[:n]]

