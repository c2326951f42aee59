"""Multi-resolution latent grids: their shapes, their upsampling to the image, the causal contexts of their latents.

Grid i (i = 0 .. L-1) has ceil(H / 2^i) x ceil(W / 2^i) latents. Upsampling doubles a grid with the bilinear
taps (1, 3) / 4 on each axis (edges replicated) and crops, i times for grid i; `upsample` returns the sums without
the division, i.e. 16^i times the upsampled values, so integer latents stay integers (exact in float64).

Coding order: the coarsest grid first; within a grid the anchors ((r + c) even) first, then the others. The context
of latent (r, c) of grid i, CONTEXT = 14 numbers: its four neighbours N, S, W, E in grid i (zeros for an anchor,
whose neighbours come later; a non-anchor's neighbours are all anchors), the 3 x 3 latents of grid i + 1 around
(r // 2, c // 2) (zeros for the coarsest grid), and 1 for a non-anchor (0 for an anchor). Outside a grid: zeros.

The phases of a grid: its latents with (r % 2, c % 2) = (dr, dc), `PHASES` (the anchors (0, 0), (1, 1) first).
Both anchors of a 2 x 2 block have the context of their parent's position, so `anchor_contexts` builds one per
parent latent; `phase_contexts` builds a non-anchor phase's from slices (training evaluates the entropy model
phase by phase, `LatentImage.rate`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["CONTEXT", "PHASES", "shapes", "upsample", "contexts", "anchors", "anchor_contexts", "phase_contexts"]

CONTEXT = 14
PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))


def shapes(size: tuple[int, int], count: int) -> list[tuple[int, int]]:
    """[(ceil(H / 2^i), ceil(W / 2^i)) for i < count]."""
    h, w = size
    return [(-(-h // 2 ** i), -(-w // 2 ** i)) for i in range(count)]


def _double(x: torch.Tensor, dim: int, n: int) -> torch.Tensor:
    """x (..., m, ...) -> (..., n, ...) along dim: out[2k] = x[k-1] + 3 x[k], out[2k+1] = 3 x[k] + x[k+1] (edges
    replicated), cropped to n <= 2m."""
    m = x.shape[dim]
    prev = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, m - 1)], dim)
    nxt = torch.cat([x.narrow(dim, 1, m - 1), x.narrow(dim, m - 1, 1)], dim)
    out = torch.stack([prev + 3 * x, 3 * x + nxt], dim + 1).flatten(dim, dim + 1)
    return out.narrow(dim, 0, n)


def upsample(grids: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Grids [(h_i, w_i)] (i = 0 .. L-1, shapes as `shapes`) -> (L, H, W): grid i doubled i times, times 16^i."""
    out = []
    sizes = shapes(size, len(grids))
    for i, g in enumerate(grids):
        for j in range(i - 1, -1, -1):
            g = _double(_double(g, 0, sizes[j][0]), 1, sizes[j][1])
        out.append(g)
    return torch.stack(out)


def anchors(shape: tuple[int, int]) -> torch.Tensor:
    """(h, w) bool: (r + c) even."""
    r, c = torch.arange(shape[0])[:, None], torch.arange(shape[1])[None, :]
    return (r + c) % 2 == 0


def _coarse(grid: torch.Tensor, parent: torch.Tensor | None, rows: int, cols: int) -> list[torch.Tensor]:
    """The 3 x 3 parent latents around parent position (i, j), i < rows, j < cols: 9 maps (rows, cols) (zeros
    without a parent)."""
    if parent is None:
        return [grid.new_zeros(rows, cols)] * 9
    q = F.pad(parent, (1, 1, 1, 1))
    return [q[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def contexts(grid: torch.Tensor, parent: torch.Tensor | None) -> torch.Tensor:
    """grid (h, w), parent (ceil(h/2), ceil(w/2)) or None -> (CONTEXT, h, w) (module docstring), in grid's dtype."""
    h, w = grid.shape
    later = (~anchors((h, w))).to(grid.dtype)
    p = F.pad(grid, (1, 1, 1, 1))
    same = [p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]
    coarse = [c.repeat_interleave(2, 0).repeat_interleave(2, 1)[:h, :w]
              for c in _coarse(grid, parent, -(-h // 2), -(-w // 2))]
    return torch.stack([s * later for s in same] + coarse + [later])


def anchor_contexts(grid: torch.Tensor, parent: torch.Tensor | None) -> torch.Tensor:
    """The contexts of grid's anchors (2i, 2j) and (2i + 1, 2j + 1), one per parent position: (CONTEXT,
    ceil(h/2), ceil(w/2)), equal to contexts(grid, parent)[:, 0::2, 0::2] (cropped to (h // 2, w // 2), to
    [:, 1::2, 1::2])."""
    rows, cols = -(-grid.shape[0] // 2), -(-grid.shape[1] // 2)
    zero = grid.new_zeros(rows, cols)
    return torch.stack([zero] * 4 + _coarse(grid, parent, rows, cols) + [zero])


def phase_contexts(grid: torch.Tensor, parent: torch.Tensor | None, dr: int, dc: int) -> torch.Tensor:
    """The contexts of a non-anchor phase (dr + dc odd): (CONTEXT, rows, cols), equal to contexts(grid,
    parent)[:, dr::2, dc::2]."""
    h, w = grid.shape
    rows, cols = (h - dr + 1) // 2, (w - dc + 1) // 2
    p = F.pad(grid, (1, 1, 1, 1))
    same = [p[dr + a::2, dc + b::2][:rows, :cols] for a, b in ((0, 1), (2, 1), (1, 0), (1, 2))]
    return torch.stack(same + _coarse(grid, parent, rows, cols) + [grid.new_ones(rows, cols)])
