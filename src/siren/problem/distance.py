"""Smooth approximate distance functions of domains, for hard boundary conditions (`Hard(g, "boundary")`).

phi(x) = 0 on the boundary, > 0 inside, < 0 outside, |grad phi| = 1 on the boundary away from corners (normalised to
first order) and smooth elsewhere, built with Rvachev's R-functions as in Sukumar and Srivastava (2022), "Exact
imposition of boundary conditions with distance functions in physics-informed deep neural networks":

    box [lo, hi]        a_i = (x_i - lo_i)(hi_i - x_i) / (hi_i - lo_i) per axis, joined by "and"
    ball (c, r)         (r^2 - |x - c|^2) / (2 r)
    polygon             1 / phi = sum_e 1 / phi_e, phi_e the trimmed distance to edge e (zero on the edge only),
                        signed by containment
    A | B               a + b + sqrt(a^2 + b^2)          ("or")
    A & B               a + b - sqrt(a^2 + b^2)          ("and")
    A - B               a "and" (-b)
    space x time        the spatial phi (the lateral boundary); t - t0 is the initial slice's

x: (N, d) tensor in the user's units -> (N,), differentiable (autograd takes its derivatives for `Hard`).
"""
from __future__ import annotations

import torch

from ..errors import SirenError

__all__ = ["distance"]

TINY = 1e-24          # inside the R-functions' square roots: finite gradients where both arguments vanish


def _and(a, b):
    return a + b - torch.sqrt(a * a + b * b + TINY)


def _or(a, b):
    return a + b + torch.sqrt(a * a + b * b + TINY)


def _box(lo, hi, x):
    lo, hi = torch.as_tensor(lo, dtype=x.dtype, device=x.device), torch.as_tensor(hi, dtype=x.dtype, device=x.device)
    a = (x - lo) * (hi - x) / (hi - lo)
    out = a[:, 0]
    for i in range(1, x.shape[1]):
        out = _and(out, a[:, i])
    return out


def _polygon(poly, x):
    v = torch.as_tensor(poly.vertices, dtype=x.dtype, device=x.device)
    p, q = v, torch.roll(v, -1, 0)
    length = (q - p).norm(dim=-1)
    d = x[:, None, :] - p[None]
    f = (d[..., 0] * (q - p)[:, 1] - d[..., 1] * (q - p)[:, 0]) / length           # signed distance to the line
    t = ((length / 2) ** 2 - ((x[:, None, :] - (p + q) / 2) ** 2).sum(-1)) / length   # > 0 beside the segment
    phi_e = torch.sqrt(f ** 2 + ((torch.sqrt(t ** 2 + f ** 4 + TINY) - t) / 2) ** 2 + TINY)
    phi = 1 / (1 / phi_e).sum(-1)
    return torch.where(poly.contains(x.detach()), phi, -phi)


def distance(domain, x: torch.Tensor) -> torch.Tensor:
    """The smooth approximate distance phi of `domain` at x (N, d) -> (N,) (see the module docstring)."""
    from .geometry import Difference, Disk, Intersection, Polygon, Rectangle, Union
    from .time import SpaceTime
    if isinstance(domain, SpaceTime):
        return distance(domain.space, x[:, :-1])
    if isinstance(domain, Rectangle):
        return _box(domain.lo, domain.hi, x)
    if isinstance(domain, Disk):
        c = torch.as_tensor(domain.center, dtype=x.dtype, device=x.device)
        return (domain.radius ** 2 - ((x - c) ** 2).sum(-1)) / (2 * domain.radius)
    if isinstance(domain, Polygon):
        return _polygon(domain, x)
    if isinstance(domain, Union):
        return _or(distance(domain.a, x), distance(domain.b, x))
    if isinstance(domain, Intersection):
        return _and(distance(domain.a, x), distance(domain.b, x))
    if isinstance(domain, Difference):
        return _and(distance(domain.a, x), -distance(domain.b, x))
    raise SirenError(f"no approximate distance for {type(domain).__name__} (give Hard a distance function)")
