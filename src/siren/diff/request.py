"""What a loss asks of `siren.diff`, and what it gets back.

A `Request` names the derivatives of a network output y (N, C) w.r.t. its input x (N, d) that a loss needs:

    gradient           dy_c/dx_i                                   -> Derivatives.gradient (N, C, d)
    laplacian          axis groups g: sum_{i in g} d2y_c/dx_i2     -> Derivatives.laplacian(g) (N, C)
                       (several groups allowed: the wave equation asks for (t,) and (x, y) apart)
    hessian_diagonal   d2y_c/dx_i2 for every i (per-axis second    -> Derivatives.hessian_diagonal (N, C, d)
                       derivatives, e.g. for a PML's d/dx(a du/dx))
    hessian            every d2y_c/dx_i dx_j (small d)             -> Derivatives.hessian (N, C, d, d)

Inside both implementations every second-order quantity is a "block": a sum of Hessian entries over a set of index
pairs (i, j), i <= j. A Laplacian over g is the block {(i, i): i in g}; the Hessian diagonal is d one-pair blocks;
the full Hessian d (d + 1) / 2 one-pair blocks. `Request.blocks(d)` lists the distinct blocks to compute (a
Laplacian is summed from the diagonal when the diagonal is computed anyway).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

__all__ = ["Request", "Derivatives", "Pairs"]

Pairs = tuple[tuple[int, int], ...]   # one block: the Hessian entries (i, j), i <= j, that it sums


def _groups(laplacian, d: int | None = None) -> tuple[tuple[int, ...] | None, ...]:
    """Normalise the `laplacian` argument: None/False -> (); True -> (None,) (all axes); (1, 2) -> ((1, 2),);
    [(0,), (1, 2)] -> ((0,), (1, 2)). None inside stands for every axis."""
    if laplacian is None or laplacian is False:
        return ()
    if laplacian is True:
        return (None,)
    items = list(laplacian)
    if not items:
        raise ValueError("laplacian=[] names no axis group (pass True for all axes, or groups such as [(0,), (1, 2)])")
    if all(isinstance(a, int) for a in items):
        items = [tuple(items)]
    return tuple(None if g is True or g is None else tuple(int(a) for a in g) for g in items)


@dataclass(frozen=True)
class Request:
    """The derivatives a loss needs (see the module docstring). `laplacian`: True (all axes), one group of axes
    such as (1, 2), or several groups such as [(0,), (1, 2)]."""
    gradient: bool = False
    laplacian: object = None
    hessian_diagonal: bool = False
    hessian: bool = False
    groups: tuple = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "groups", _groups(self.laplacian))

    @property
    def second_order(self) -> bool:
        return bool(self.groups) or self.hessian_diagonal or self.hessian

    @property
    def first_order(self) -> bool:
        """Whether the Jacobian must be propagated (asked for, or needed by a second-order block)."""
        return self.gradient or self.second_order

    def axes(self, group, d: int) -> tuple[int, ...]:
        """A group of this request as sorted axes, checked against the input dimension d."""
        axes = tuple(range(d)) if group is None else tuple(sorted(set(group)))
        if not axes or any(not 0 <= a < d for a in axes):
            raise ValueError(f"Laplacian axes {group} do not fit an input of dimension {d} (use axes 0..{d - 1})")
        return axes

    def blocks(self, d: int) -> tuple[Pairs, ...]:
        """The distinct second-order blocks to compute for an input of dimension d, in a fixed order."""
        out: list[Pairs] = []
        if self.hessian:
            out = [((i, j),) for i in range(d) for j in range(i, d)]
        elif self.hessian_diagonal:
            out = [((i, i),) for i in range(d)]
        else:
            for g in self.groups:
                pairs = tuple((i, i) for i in self.axes(g, d))
                if pairs not in out:
                    out.append(pairs)
        for g in self.groups:
            self.axes(g, d)   # validate even when summed from the diagonal
        return tuple(out)


@dataclass
class Derivatives:
    """Result of `siren.diff.derivatives`: value (N, C), gradient (N, C, d) or None, and the computed second-order
    blocks {pairs: (N, C)}. Ask for Laplacians and Hessians through the methods below."""
    value: torch.Tensor
    gradient: torch.Tensor | None
    blocks: dict
    dim: int

    def _block(self, pairs: Pairs) -> torch.Tensor:
        if pairs in self.blocks:
            return self.blocks[pairs]
        if all(i == j for i, j in pairs) and all(((i, i),) in self.blocks for i, _ in pairs):
            return sum(self.blocks[((i, i),)] for i, _ in pairs)
        raise ValueError(f"the second derivatives {list(pairs)} were not requested (add them to the Request)")

    def laplacian(self, axes: Sequence[int] | None = None) -> torch.Tensor:
        """sum_{i in axes} d2y_c/dx_i2 -> (N, C); axes None: every input axis."""
        axes = range(self.dim) if axes is None else sorted(set(axes))
        return self._block(tuple((i, i) for i in axes))

    @property
    def hessian_diagonal(self) -> torch.Tensor:
        """d2y_c/dx_i2 -> (N, C, d)."""
        return torch.stack([self._block(((i, i),)) for i in range(self.dim)], dim=-1)

    @property
    def hessian(self) -> torch.Tensor:
        """d2y_c/dx_i dx_j -> (N, C, d, d), symmetric."""
        d = self.dim
        rows = [[self._block(((min(i, j), max(i, j)),)) for j in range(d)] for i in range(d)]
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    def unflatten(self, lead: tuple) -> Derivatives:
        """The same derivatives with the point axis N reshaped to `lead` (coords given as (*lead, d))."""
        def shape(t):
            return None if t is None else t.reshape(*lead, *t.shape[1:])
        return Derivatives(shape(self.value), shape(self.gradient), {k: shape(v) for k, v in self.blocks.items()},
                           self.dim)
