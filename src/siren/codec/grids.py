"""Multi-resolution latent grids: their shapes, their upsampling to the image, the causal contexts of their latents.

Grid i (i = 0 .. L-1) has ceil(H / 2^i) x ceil(W / 2^i) latents. Upsampling doubles a grid with the bilinear
taps (1, 3) / 4 on each axis (edges replicated) and crops, i times for grid i; `upsample` returns the sums without
the division, i.e. 16^i times the upsampled values, so integer latents stay integers (exact in float64).

Coding order: the coarsest grid first; within a grid pass by pass. The phases of a grid are its latents with
(r % 2, c % 2) = (dr, dc), in the order `PHASES` = (0, 0), (1, 1), (0, 1), (1, 0); a context `Scheme` gives each
phase its pass and lists the same-grid neighbour offsets a latent sees. The context of latent (r, c) of grid i,
`Scheme.size` numbers: its neighbours at the scheme's offsets in grid i, each where its pass is earlier than
(r, c)'s (else 0); the 3 x 3 latents of grid i + 1 around (r // 2, c // 2) (zeros for the coarsest grid); and
[pass == k] for k = 1 .. passes - 1. Outside a grid: zeros. The codec's scheme (format 2) is `CHECKERBOARD`: the
four axis neighbours N, S, W, E, two passes ((0, 0) and (1, 1) together, then the others), 14 numbers.
Training evaluates the entropy model phase by phase (`phase_contexts`, `LatentImage.rate`); the coder pass by pass
on each pass's phases (`phase_contexts`, in raster order); `contexts` gives every latent's at once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["PHASES", "Scheme", "CHECKERBOARD", "shapes", "upsample", "contexts", "phase_contexts"]

PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))


@dataclass(frozen=True)
class Scheme:
    """A context scheme: same-grid neighbour offsets (dr, dc) and the pass of each phase (in `PHASES` order)."""
    offsets: tuple[tuple[int, int], ...]
    passes: tuple[int, int, int, int]

    @property
    def size(self) -> int:
        """Numbers in a context."""
        return len(self.offsets) + 9 + max(self.passes)

    @property
    def reach(self) -> int:
        """The largest |dr| or |dc| of the offsets."""
        return max(max(abs(a), abs(b)) for a, b in self.offsets)

    def seen(self, phase: tuple[int, int], offset: tuple[int, int]) -> bool:
        """Whether a latent of `phase` sees its neighbour at `offset` (that neighbour's pass is earlier)."""
        other = ((phase[0] + offset[0]) % 2, (phase[1] + offset[1]) % 2)
        return self.passes[PHASES.index(other)] < self.passes[PHASES.index(phase)]

    def blind(self, phase: tuple[int, int]) -> bool:
        """Whether a latent of `phase` sees none of its neighbours (its context: the parent grid and the flags)."""
        return not any(self.seen(phase, o) for o in self.offsets)


CHECKERBOARD = Scheme(((-1, 0), (1, 0), (0, -1), (0, 1)), (0, 0, 1, 1))


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


@functools.lru_cache(maxsize=256)
def _doubling(n: int, times: int) -> torch.Tensor:
    """(n, ceil(n / 2^times)) float64 integer matrix: `times` doublings of an axis (`_double`, each cropped to
    ceil(n / 2^j)) up to length n."""
    m = torch.eye(-(-n // 2 ** times), dtype=torch.float64)
    for j in range(times - 1, -1, -1):
        m = _double(m, 0, -(-n // 2 ** j))
    return m


def upsample(grids: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Grids [(h_i, w_i)] (i = 0 .. L-1, shapes as `shapes`) -> (L, H, W): grid i doubled i times, times 16^i.
    Grids 2.. are brought to grid 1's shape by matrix products (`_doubling`), then grids 1.. doubled together by
    PyTorch's bilinear x2 (align_corners=False: the same taps and edges; its weights 1/4 and 3/4 keep integers
    exact in float64)."""
    if len(grids) == 1:
        return grids[0][None]
    (h, w), (h1, w1) = shapes(size, 2)
    half = torch.stack([g if i == 1 else _doubling(h1, i - 1).to(g.dtype) @ g @ _doubling(w1, i - 1).to(g.dtype).T
                        for i, g in enumerate(grids) if i])
    full = F.interpolate(half[None], scale_factor=2, mode="bilinear", align_corners=False)[0, :, :h, :w]
    return torch.cat([grids[0][None], full * 16])


def _coarse(grid: torch.Tensor, parent: torch.Tensor | None, rows: int, cols: int) -> list[torch.Tensor]:
    """The 3 x 3 parent latents around parent position (i, j), i < rows, j < cols: 9 maps (rows, cols) (zeros
    without a parent)."""
    if parent is None:
        return [grid.new_zeros(rows, cols)] * 9
    q = F.pad(parent, (1, 1, 1, 1))
    return [q[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def _tile(values: list, shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """values[PHASES.index((r % 2, c % 2))] at each (r, c) of a (h, w) map."""
    by = torch.tensor([[values[PHASES.index((a, b))] for b in (0, 1)] for a in (0, 1)], dtype=dtype)
    return by.repeat(-(-shape[0] // 2), -(-shape[1] // 2))[:shape[0], :shape[1]]


def contexts(grid: torch.Tensor, parent: torch.Tensor | None, scheme: Scheme) -> torch.Tensor:
    """grid (h, w), parent (ceil(h/2), ceil(w/2)) or None -> (scheme.size, h, w) (module docstring), in grid's
    dtype."""
    (h, w), r = grid.shape, scheme.reach
    p = F.pad(grid, (r, r, r, r))
    same = [p[r + a:r + a + h, r + b:r + b + w] * _tile([scheme.seen(ph, (a, b)) for ph in PHASES], (h, w), grid.dtype)
            for a, b in scheme.offsets]
    coarse = [c.repeat_interleave(2, 0).repeat_interleave(2, 1)[:h, :w]
              for c in _coarse(grid, parent, -(-h // 2), -(-w // 2))]
    flags = [_tile([float(j == k) for j in scheme.passes], (h, w), grid.dtype)
             for k in range(1, max(scheme.passes) + 1)]
    return torch.stack(same + coarse + flags)


def phase_contexts(grid: torch.Tensor, parent: torch.Tensor | None, scheme: Scheme, dr: int, dc: int) -> torch.Tensor:
    """The contexts of phase (dr, dc): (scheme.size, rows, cols), equal to contexts(grid, parent, scheme)[:, dr::2,
    dc::2], built from slices."""
    (h, w), r = grid.shape, scheme.reach
    rows, cols = (h - dr + 1) // 2, (w - dc + 1) // 2
    p = F.pad(grid, (r, r, r, r))
    zero = grid.new_zeros(rows, cols)
    same = [p[r + dr + a::2, r + dc + b::2][:rows, :cols] if scheme.seen((dr, dc), (a, b)) else zero
            for a, b in scheme.offsets]
    k = scheme.passes[PHASES.index((dr, dc))]
    flags = [grid.new_ones(rows, cols) if j == k else zero for j in range(1, max(scheme.passes) + 1)]
    return torch.stack(same + _coarse(grid, parent, rows, cols) + flags)
