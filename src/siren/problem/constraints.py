"""Constraints: where a condition holds, what it says, how much it weighs.

Each constraint's loss term is the mean over its points (and components) of residual^2, in the user's units:

    Residual(fn)                  fn(v) -> (N,) or (N, k): a PDE residual (v: `siren.problem.view.View`)
    Dirichlet(u, g)               u - g                       on the boundary (or `on=` a part)
    Neumann(u, g)                 du/dn - g                   (outward normal, spatial inputs)
    Robin(u, a, b, g)             a u + b du/dn - g
    Periodic(u, "x")              u(lo_x) - u(hi_x) and du/dx(lo_x) - du/dx(hi_x) at matched points
    Initial(u, g, order=0|1)      u - g (order 0) or du/dt - g (order 1) at t = t0
    Observation(points, values, outputs="u", noise=None, flood=False)   u(points) - values; with `noise` (the
                                  standard deviation of the data) the metrics also report chi2 = mean((u - y)^2) /
                                  noise^2; flood=True fits the data down to their noise and no further: the term L
                                  becomes |L - noise^2| + noise^2 ("flooding", Ishida et al. 2020, at the level the
                                  discrepancy principle sets), so the data stop pulling once chi2 = 1

g, a, b: numbers or functions of the view (coordinates by name: `lambda p: torch.sin(p.x)`). Options of all:
points (per step), on (`siren.problem.sampling`), sampler (a name, or a function (n, generator, step) -> points),
weight (fixed factor of the term). A residual may be complex (a field's real and imaginary parts): its term is then
the mean of |residual|^2.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import SirenError
from .adaptive import Adaptive
from .causal import Causal
from .sampling import SAMPLERS, Points, read_points

__all__ = ["Constraint", "Residual", "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "Observation"]


def _value(g, v):
    return g(v) if callable(g) else g


class Constraint:
    """Base class: `compute(views) -> tensor` over the point sets of `sets(problem, gen)`."""
    default_on = "interior"
    adaptive = causal = None         # a Residual's options

    def __init__(self, on=None, points: int = 1000, sampler: str = "random", weight: float = 1.0):
        if not callable(sampler) and sampler not in SAMPLERS:
            raise SirenError(f"unknown sampler {sampler!r} (choose {', '.join(SAMPLERS)}, or pass a function "
                             "sampler(n, generator, step) -> points)")
        if not (isinstance(points, int) and points > 0):
            raise SirenError(f"points must be a positive integer, got {points!r}")
        if not (np.isfinite(weight) and weight >= 0):
            raise SirenError(f"weight must be a finite number >= 0, got {weight!r}")
        self.on = self.default_on if on is None else on
        self.points, self.sampler, self.weight = points, sampler, float(weight)

    def compute(self, views) -> torch.Tensor:
        return self.fn(views[0])

    def fn(self, v) -> torch.Tensor:
        raise NotImplementedError


class Residual(Constraint):
    """fn(v) = 0 (see the module docstring). adaptive: `Adaptive(...)`, residual-based sampling of its points
    (`siren.problem.adaptive`); causal: `Causal(...)`, causal weights in time (`siren.problem.causal`)."""

    def __init__(self, fn, on=None, points: int = 1000, sampler: str = "random", weight: float = 1.0,
                 adaptive: Adaptive | None = None, causal: Causal | None = None):
        super().__init__(on, points, sampler, weight)
        for value, kind in ((adaptive, Adaptive), (causal, Causal)):
            if value is not None and not isinstance(value, kind):
                raise SirenError(f"{kind.__name__.lower()}= takes a siren.problem.{kind.__name__}, got "
                                 f"{type(value).__name__}")
        self.fn, self.adaptive, self.causal = fn, adaptive, causal


class Dirichlet(Constraint):
    default_on = "boundary"

    def __init__(self, output: str, value=0.0, on=None, points: int = 1000, sampler: str = "random",
                 weight: float = 1.0):
        super().__init__(on, points, sampler, weight)
        self.output, self.value = output, value

    def fn(self, v):
        return v[self.output] - _value(self.value, v)


class Neumann(Dirichlet):
    def fn(self, v):
        return v.dn(self.output) - _value(self.value, v)


class Robin(Constraint):
    default_on = "boundary"

    def __init__(self, output: str, a=1.0, b=1.0, value=0.0, on=None, points: int = 1000, sampler: str = "random",
                 weight: float = 1.0):
        super().__init__(on, points, sampler, weight)
        self.output, self.a, self.b, self.value = output, a, b, value

    def fn(self, v):
        return _value(self.a, v) * v[self.output] + _value(self.b, v) * v.dn(self.output) - _value(self.value, v)


class Initial(Constraint):
    default_on = "initial"

    def __init__(self, output: str, value=0.0, order: int = 0, points: int = 1000, sampler: str = "random",
                 weight: float = 1.0, time: str = "t"):
        super().__init__(None, points, sampler, weight)
        if order not in (0, 1):
            raise SirenError(f"an initial condition has order 0 (value) or 1 (time derivative), got {order}")
        self.output, self.value, self.order, self.time = output, value, order, time

    def fn(self, v):
        u = v[self.output] if self.order == 0 else v.d(self.output, self.time)
        return u - _value(self.value, v)


class Periodic(Constraint):
    """u and du/d(axis) equal at x_axis = lo and x_axis = hi of the box (points matched along the other axes)."""
    default_on = "interior"

    def __init__(self, output: str, axis: str, derivative: bool = True, points: int = 500,
                 sampler: str = "random", weight: float = 1.0):
        super().__init__(None, points, sampler, weight)
        self.output, self.axis, self.derivative = output, axis, derivative

    def compute(self, views):
        lo, hi = views
        parts = [lo[self.output] - hi[self.output]]
        if self.derivative:
            parts.append(lo.d(self.output, self.axis) - hi.d(self.output, self.axis))
        return torch.stack(parts, -1)


class Observation(Constraint):
    """Data: values (N,) or (N, k) of `outputs` at points (N, d) (arrays or files; see `siren.problem.sampling`)."""
    default_on = "interior"

    def __init__(self, points, values, outputs="u", noise: float | None = None, weight: float = 1.0,
                 flood: bool = False):
        vals = read_points(values, "values")
        if not np.isfinite(vals).all():
            raise SirenError("observations contain NaN or infinity (drop those rows)")
        where = read_points(points)
        self.outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        if vals.shape != (len(where), len(self.outputs)):
            raise SirenError(f"observations: {len(where)} points but values of shape {vals.shape} for "
                             f"outputs {self.outputs} (give one value per point and output)")
        if noise is not None and not noise > 0:
            raise SirenError(f"observation noise must be a positive standard deviation, got {noise}")
        if flood and noise is None:
            raise SirenError("flood=True fits observations down to their noise: give noise= (their standard deviation)")
        self.data = Points(where, data={"values": vals})      # the values travel with their points (shards)
        super().__init__(self.data, len(where), "random", weight)
        self.values, self.noise, self.flood = torch.as_tensor(vals), noise, flood

    def fn(self, v):
        pred = torch.stack([v[o] for o in self.outputs], -1)
        return pred - v.data["values"].to(pred)
