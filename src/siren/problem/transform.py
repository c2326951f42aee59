"""Hard constraints: an output transform u = g(x) + d(x) N(x), N the network's channel.

g and d are the user's parameter-free functions of the coordinates (a view with coordinates only: `p.x`, `p.t`)
or numbers; d vanishes where the condition holds (e.g. d = (1 - x^2) t for u = g on x = +-1 and at t = 0), so u
meets it exactly. d may also be named: "boundary" (the domain's smooth approximate distance, `siren.problem.distance`:
zero on the whole boundary, the lateral one of a space-time domain), "initial" (t - t0) or a list of both (their
product). Their derivatives come from autograd on those small functions (never on the network); the
network's from `siren.diff`, combined by the product rule in the same pass:

    u_i  = g_i + d_i N + d N_i
    u_ij = g_ij + d_ij N + d_i N_j + d_j N_i + d N_ij

A run folder stores the description (the source text of g and d); `siren.load` re-creates them from the copy of
problem.py kept in the run folder.
"""
from __future__ import annotations

import inspect

import torch

from ..errors import SirenError

__all__ = ["Hard", "Pieces"]


class _Coords:
    """A coordinates-only source for a View."""

    def __init__(self, x):
        self.x = x

    def coord(self, axis):
        return self.x[:, axis]

    def _no(self, *args):
        raise SirenError("a hard-constraint function reads only coordinates (no outputs, unknowns or derivatives)")

    value = parameter = d1 = d2 = laplacian = _no


class Pieces:
    """g or d at points: value (N,), first (N, d), second {(i, j): (N,)} for i <= j (physical units)."""

    def __init__(self, value, first=None, second=None):
        self.value, self.first, self.second = value, first, second or {}


def _pieces(fn, x: torch.Tensor, view_of, order: int, pairs) -> Pieces:
    """fn (a number, or a function of a coordinates view) at x (N, d), with derivatives up to `order`."""
    if not callable(fn):
        const = torch.full((len(x),), float(fn), dtype=x.dtype, device=x.device)
        return Pieces(const, torch.zeros_like(x), {p: torch.zeros_like(const) for p in pairs})
    with torch.enable_grad():
        xl = x.detach().requires_grad_(order > 0)
        v = torch.as_tensor(fn(view_of(_Coords(xl))), dtype=x.dtype, device=x.device)
        v = v.expand(len(x)) if v.dim() == 0 else v.reshape(len(x))
        if order == 0 or not v.requires_grad:
            return Pieces(v.detach(), torch.zeros_like(x), {p: torch.zeros_like(v).detach() for p in pairs})
        first = torch.autograd.grad(v.sum(), xl, create_graph=order > 1)[0]
        rows = {}                                   # d(first[:, i]) / dx for each i a pair names
        for i in sorted({i for i, _ in pairs}):
            row = torch.autograd.grad(first[:, i].sum(), xl, retain_graph=True, allow_unused=True)[0] \
                if first.requires_grad else None
            rows[i] = torch.zeros_like(x) if row is None else row.detach()
        second = {(i, j): rows[i][:, j] for i, j in pairs}
    return Pieces(v.detach(), first.detach(), second)


NAMED = ("boundary", "initial")


class Hard:
    """u = value + distance * N (see the module docstring): value, distance are numbers or functions of a
    coordinates view returning (N,) tensors; distance may be "boundary", "initial" or a list of them."""

    def __init__(self, value=0.0, distance=None):
        if distance is None:
            raise SirenError("a hard constraint needs its distance function d (zero where u is prescribed), or "
                             "distance='boundary'")
        self.g, self.d = value, distance
        self.named = [distance] if isinstance(distance, str) else list(distance) \
            if isinstance(distance, (list, tuple)) else None
        if self.named is not None and (not self.named or any(n not in NAMED for n in self.named)):
            raise SirenError(f"hard constraint distance {distance!r}: name 'boundary', 'initial' or a list of them, "
                             "or give a function")

    def bind(self, problem) -> None:
        """Turn a named distance into a function for `problem` (its domain and input names)."""
        if self.named is None:
            return
        from .distance import distance
        from .time import SpaceTime
        if "initial" in self.named and not isinstance(problem.domain, SpaceTime):
            raise SirenError("hard constraint distance 'initial' needs a space-time domain (space * TimeInterval)")
        inputs, domain = problem.inputs, problem.domain

        def d(p):
            out = 1.0
            for name in self.named:
                out = out * (distance(domain, torch.stack([p[i] for i in inputs], -1)) if name == "boundary"
                             else p[inputs[-1]] - domain.time.t0)
            return out
        self.d = d

    def pieces(self, x: torch.Tensor, view_of, order: int, pairs) -> tuple[Pieces, Pieces]:
        """(g, d) at x (N, dim) with derivatives up to `order` and the second-derivative `pairs`."""
        return _pieces(self.g, x, view_of, order, pairs), _pieces(self.d, x, view_of, order, pairs)

    def describe(self) -> dict:
        def text(f):
            if not callable(f):
                return float(f)
            try:
                return inspect.getsource(f).strip()
            except (OSError, TypeError):
                return repr(f)
        return {"value": text(self.g), "distance": self.named if self.named is not None else text(self.d)}


def combine(N: dict, g: Pieces, d: Pieces, what: str, i=None, j=None):
    """The transformed quantity from the network's pieces N = {"value", "first": {i}, "second": {(i, j)}}."""
    if what == "value":
        return g.value + d.value * N["value"]
    if what == "first":
        return g.first[:, i] + d.first[:, i] * N["value"] + d.value * N["first"][i]
    return (g.second[(i, j)] + d.second[(i, j)] * N["value"] + d.first[:, i] * N["first"][j]
            + d.first[:, j] * N["first"][i] + d.value * N["second"][(i, j)])
