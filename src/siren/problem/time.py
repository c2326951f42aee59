"""Space-time domains: `space * TimeInterval(t0, t1)`; time is the last input axis.

    interior(n)   (n, d + 1) uniform in space x [t0, t1]
    boundary(n)   the lateral boundary: spatial boundary points x uniform t, normals (n_x, 0), the space's parts
    initial(n)    the slice t = t0: (n, d + 1) with t = t0
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import SirenError
from .geometry import DTYPE, Domain, _uniform

__all__ = ["TimeInterval", "SpaceTime"]


class TimeInterval:
    """[t0, t1], t1 > t0; multiply a spatial domain by it."""

    def __init__(self, t0: float, t1: float):
        self.t0, self.t1 = float(t0), float(t1)
        if not self.t1 > self.t0:
            raise SirenError(f"time interval [{t0}, {t1}] has zero measure (give t1 > t0)")

    def __rmul__(self, space):
        return SpaceTime(space, self)


class SpaceTime(Domain):
    """A spatial domain times a TimeInterval (see the module docstring)."""

    def __init__(self, space: Domain, time: TimeInterval):
        self.space, self.time, self.dim = space, time, space.dim + 1
        self.lo = np.append(space.lo, time.t0)
        self.hi = np.append(space.hi, time.t1)

    @property
    def parts(self):
        return self.space.parts

    def sdf(self, x):
        t = x[:, -1]
        dt = torch.maximum(self.time.t0 - t, t - self.time.t1)
        return torch.maximum(self.space.sdf(x[:, :-1]), dt)

    def contains(self, x):
        t = x[:, -1]
        return self.space.contains(x[:, :-1]) & (t >= self.time.t0) & (t <= self.time.t1)

    def _times(self, n, gen):
        return _uniform(n, [self.time.t0], [self.time.t1], gen)

    def interior(self, n, gen=None):
        return torch.cat([self.space.interior(n, gen), self._times(n, gen)], 1)

    def boundary(self, n, gen=None):
        x, normal, part = self.space.boundary(n, gen)
        return (torch.cat([x, self._times(n, gen)], 1), torch.cat([normal, torch.zeros(n, 1, dtype=DTYPE)], 1),
                part)

    def initial(self, n, gen=None):
        x = self.space.interior(n, gen)
        return torch.cat([x, torch.full((n, 1), self.time.t0, dtype=DTYPE)], 1)

    def check(self, what: str = "domain") -> None:
        self.space.check(what)

    def to_dict(self):
        return {"kind": "spacetime", "space": self.space.to_dict(), "time": [self.time.t0, self.time.t1]}

    def describe(self):
        return f"{self.space.describe()} x [{self.time.t0}, {self.time.t1}]"
