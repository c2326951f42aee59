"""The latent-grid model's layout, without PyTorch (the decoder imports only NumPy): the network's shape (`Arch`),
the grids' shapes and doubling, the context scheme and the contexts of one phase.

Grid i (i = 0 .. L-1) has ceil(H / 2^i) x ceil(W / 2^i) latents. Doubling an axis takes the bilinear taps (1, 3) / 4
(edges replicated), here without the division: out[2k] = x[k-1] + 3 x[k], out[2k+1] = 3 x[k] + x[k+1], cropped
(`double`; `doubling`, its matrix), so integer latents stay integers (exact in float64).

Coding order: the coarsest grid first; within a grid pass by pass. The phases of a grid are its latents with
(r % 2, c % 2) = (dr, dc), in the order `PHASES` = (0, 0), (1, 1), (0, 1), (1, 0); a context `Scheme` gives each
phase its pass and lists the same-grid neighbour offsets a latent sees. The context of latent (r, c) of grid i,
`Scheme.size` numbers: its neighbours at the scheme's offsets in grid i, each where its pass is earlier than
(r, c)'s (else 0); the 3 x 3 latents of grid i + 1 around (r // 2, c // 2) (zeros for the coarsest grid); and
[pass == k] for k = 1 .. passes - 1. Outside a grid: zeros. The codec's scheme (format 2) is `CHECKERBOARD`: the
four axis neighbours N, S, W, E, two passes ((0, 0) and (1, 1) together, then the others), 14 numbers.
`phase_contexts` takes NumPy arrays (the coder) or PyTorch tensors (training, differentiable).
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["PHASES", "Scheme", "CHECKERBOARD", "Arch", "shapes", "double", "doubling", "parent_maps", "phase_contexts"]

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


@dataclass(frozen=True)
class Arch:
    """The shape of a latent-grid model: grids L, synthesis width, entropy-model width and hidden layers, residual
    convolutions, channels C (1 or 3)."""
    grids: int = 7
    width: int = 16
    arm: int = 16
    arm_layers: int = 2
    convs: int = 2
    channels: int = 3

    @property
    def arm_widths(self) -> list[int]:
        """The entropy model's widths: CHECKERBOARD.size -> arm (x arm_layers) -> 2."""
        return [CHECKERBOARD.size] + [self.arm] * self.arm_layers + [2]

    @property
    def mlp_widths(self) -> list[int]:
        """The per-pixel network's widths: grids -> width -> channels."""
        return [self.grids, self.width, self.channels]

    def tensors(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every network tensor in file order: per layer (entropy model, per-pixel network,
        convolutions) its weight (out, in) or (C, C, 3, 3), then its bias (out,)."""
        layers = [(f"entropy.{i}", (b, a)) for i, (a, b) in enumerate(zip(self.arm_widths, self.arm_widths[1:]))]
        layers += [(f"mlp.{i}", (b, a)) for i, (a, b) in enumerate(zip(self.mlp_widths, self.mlp_widths[1:]))]
        layers += [(f"convs.{i}", (self.channels, self.channels, 3, 3)) for i in range(self.convs)]
        return [t for name, shape in layers for t in ((f"{name}.weight", shape), (f"{name}.bias", shape[:1]))]


def shapes(size: tuple[int, int], count: int) -> list[tuple[int, int]]:
    """[(ceil(H / 2^i), ceil(W / 2^i)) for i < count]."""
    h, w = size
    return [(-(-h // 2 ** i), -(-w // 2 ** i)) for i in range(count)]


def double(x: np.ndarray, axis: int, n: int) -> np.ndarray:
    """x (..., m, ...) -> (..., n, ...) along `axis`: one doubling without the division (module docstring), cropped
    to n <= 2m."""
    x = np.moveaxis(x, axis, 0)
    prev = np.concatenate([x[:1], x[:-1]])
    nxt = np.concatenate([x[1:], x[-1:]])
    out = np.stack([prev + 3 * x, 3 * x + nxt], 1).reshape(2 * len(x), *x.shape[1:])[:n]
    return np.moveaxis(out, 0, axis)


@functools.lru_cache(maxsize=256)
def doubling(n: int, times: int) -> np.ndarray:
    """(n, ceil(n / 2^times)) float64 integer matrix: `times` doublings of an axis (`double`, each cropped to
    ceil(n / 2^j)) up to length n."""
    m = np.eye(-(-n // 2 ** times))
    for j in range(times - 1, -1, -1):
        m = double(m, 0, -(-n // 2 ** j))
    return m


def _full(like, shape: tuple[int, int], value: float):
    """An array like `like` (NumPy, or a PyTorch tensor: its dtype and device) of `shape`, filled with `value`."""
    if isinstance(like, np.ndarray):
        return np.full(shape, value, dtype=like.dtype)
    return like.new_full(shape, value)


def _pad(x, r: int):
    """x (h, w) with r zeros on every side."""
    if isinstance(x, np.ndarray):
        return np.pad(x, r)
    return sys.modules["torch"].nn.functional.pad(x, (r, r, r, r))


def parent_maps(grid, parent, rows: int, cols: int) -> list:
    """The 3 x 3 parent latents around parent position (i, j), i < rows, j < cols: 9 maps (rows, cols) (zeros
    without a parent)."""
    if parent is None:
        return [_full(grid, (rows, cols), 0.0)] * 9
    q = _pad(parent, 1)
    return [q[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def phase_contexts(grid, parent, scheme: Scheme, dr: int, dc: int):
    """The contexts of phase (dr, dc) of grid (h, w) with its parent (ceil(h/2), ceil(w/2)) or None: (scheme.size,
    rows, cols), built from slices (NumPy arrays or PyTorch tensors, in grid's dtype)."""
    (h, w), r = grid.shape, scheme.reach
    rows, cols = (h - dr + 1) // 2, (w - dc + 1) // 2
    p = _pad(grid, r)
    zero = _full(grid, (rows, cols), 0.0)
    same = [p[r + dr + a::2, r + dc + b::2][:rows, :cols] if scheme.seen((dr, dc), (a, b)) else zero
            for a, b in scheme.offsets]
    k = scheme.passes[PHASES.index((dr, dc))]
    flags = [_full(grid, (rows, cols), 1.0) if j == k else zero for j in range(1, max(scheme.passes) + 1)]
    maps = same + parent_maps(grid, parent, rows, cols) + flags
    return np.stack(maps) if isinstance(grid, np.ndarray) else sys.modules["torch"].stack(maps)
