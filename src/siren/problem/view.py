"""What a residual reads: a derivative view of the outputs, unknowns and coordinates by name, in the user's units.

    v.u, v["u"]                 an output, an unknown or a coordinate: (N,) (a scalar unknown: 0-dim)
    v.d("u", "x")               du/dx (N,);  v.d("u", "x", "x") d2u/dx2;  v.d("u", "x", "t") d2u/dxdt
    v.grad("u", ("x", "y"))     (N, k) first derivatives;  v.hessian("u", names) (N, k, k)
    v.laplacian("u", names)     sum of d2u/dn2 over names (default: the spatial inputs, every input but "t")
    v.div(("u", "v"), ("x", "y"))  du/dx + dv/dy
    v.normal (N, d)             outward unit normals (boundary points);  v.dn("u") = grad_space(u) . normal
    v.data[name]                per-point data of the points (`Points(data=)`, or a callable sampler's dict)

The network sees z = 2 (x - lo) / (hi - lo) - 1 on the domain's box, so by the chain rule, with s_i = 2 / (hi_i -
lo_i): du/dx_i = s_i du/dz_i and d2u/dx_i dx_j = s_i s_j d2u/dz_i dz_j. A Laplacian over axes of equal scale is
one block s^2 Lap_z; over unequal scales it is summed from per-axis second derivatives.

Two sources answer a view: `Recorder` (a dry run that notes what is read: the `siren.diff.Request` of every
network) and `Live` (the values of one step, from `siren.diff.derivatives`).
"""
from __future__ import annotations

import torch

from ..errors import SirenError

__all__ = ["View", "Recorder", "Needs", "RESERVED"]

RESERVED = {"d", "grad", "hessian", "laplacian", "div", "normal", "dn", "data"}


class Needs:
    """What one network must deliver: first-derivative axes, second-derivative pairs (i <= j), Laplacian groups."""

    def __init__(self):
        self.value, self.first, self.pairs, self.groups = False, set(), set(), set()

    def request(self, scales, transformed: bool = False):
        """The `siren.diff.Request` that delivers these needs (scales: s_i per input axis of the network;
        transformed: u = g + d N needs N's gradient and per-axis second derivatives)."""
        from ..diff import Request
        mixed = any(i != j for i, j in self.pairs)
        groups = {(i,) for i, j in self.pairs if i == j}
        for g in self.groups:
            if len({float(scales[a]) for a in g}) == 1 and not transformed:
                groups.add(g)
            else:
                groups |= {(a,) for a in g}
        second = mixed or bool(groups)
        gradient = bool(self.first) or (second and transformed)
        if mixed:
            return Request(gradient=gradient, hessian=True)
        return Request(gradient=gradient, laplacian=sorted(groups) or None)

    def merge(self, other: "Needs") -> None:
        self.value |= other.value
        self.first |= other.first
        self.pairs |= other.pairs
        self.groups |= other.groups


class View:
    """A residual's view of one set of points (see the module docstring)."""

    def __init__(self, source, problem, normal: torch.Tensor | None = None, constraint: str = "",
                 data: dict | None = None):
        object.__setattr__(self, "_data", data or {})
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_problem", problem)
        object.__setattr__(self, "_normal", normal)
        object.__setattr__(self, "_constraint", constraint)

    def _fail(self, what: str):
        raise SirenError(f"constraint {self._constraint!r} {what}")

    def _output(self, name: str):
        p = self._problem
        if name not in p.outputs and name not in p.fields:
            known = [*p.outputs, *p.fields]
            self._fail(f"takes a derivative of {name!r}, which is no output or unknown field "
                       f"(known: {', '.join(known)})")
        return name

    def _axis(self, name: str, of: str) -> int:
        p = self._problem
        if name not in p.inputs:
            self._fail(f"differentiates by {name!r}, which is no input (inputs: {', '.join(p.inputs)})")
        return p.inputs.index(name)

    def __getitem__(self, name: str):
        p = self._problem
        if name in p.inputs:
            return self._source.coord(p.inputs.index(name))
        if name in p.outputs or name in p.fields:
            return self._source.value(name)
        if name in p.parameters:
            return self._source.parameter(name)
        self._fail(f"reads {name!r}, which is no output, input or unknown "
                   f"(known: {', '.join([*p.outputs, *p.inputs, *p.parameters, *p.fields])})")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __setattr__(self, name, value):
        raise AttributeError("a view is read-only")

    def d(self, output: str, *by: str) -> torch.Tensor:
        """d output / d by[0] (one name) or d2 output / d by[0] d by[1] (two names) -> (N,)."""
        output = self._output(output)
        axes = [self._axis(b, output) for b in by]
        if len(axes) == 1:
            return self._source.d1(output, axes[0])
        if len(axes) == 2:
            return self._source.d2(output, *axes)
        self._fail(f"asks for a derivative of order {len(axes)} of {output!r} (first and second only)")

    def grad(self, output: str, names=None) -> torch.Tensor:
        names = self._problem.space if names is None else names
        return torch.stack([self.d(output, n) for n in names], -1)

    def hessian(self, output: str, names=None) -> torch.Tensor:
        names = self._problem.space if names is None else names
        return torch.stack([torch.stack([self.d(output, a, b) for b in names], -1) for a in names], -2)

    def laplacian(self, output: str, names=None) -> torch.Tensor:
        names = self._problem.space if names is None else tuple(names)
        output = self._output(output)
        return self._source.laplacian(output, tuple(self._axis(n, output) for n in names))

    def div(self, outputs, names=None) -> torch.Tensor:
        names = self._problem.space if names is None else names
        if len(outputs) != len(names):
            self._fail(f"takes the divergence of {len(outputs)} outputs over {len(names)} inputs")
        return sum(self.d(o, n) for o, n in zip(outputs, names))

    @property
    def data(self) -> dict:
        """Per-point data {name: (N, ...)} of these points."""
        return self._data

    @property
    def normal(self) -> torch.Tensor:
        if self._normal is None:
            self._fail("reads normals on points that have none (use on='boundary' or a boundary part)")
        return self._normal

    def dn(self, output: str) -> torch.Tensor:
        """The outward normal derivative over the spatial inputs -> (N,)."""
        normal = self.normal
        axes = [self._problem.inputs.index(n) for n in self._problem.space]
        return (self.grad(output) * normal[:, axes]).sum(-1)


class Recorder:
    """A dry-run source: dummy values (N,) in (0.5, 1), notes each network's needs."""

    def __init__(self, problem, x: torch.Tensor):
        self.problem, self.x = problem, x
        self.needs = {}                 # network name ("solution" or a field) -> Needs
        self.parameters_read = set()
        self.gen = torch.Generator().manual_seed(0)      # the global random state stays untouched

    def _net(self, name: str):
        net = self.problem.network_of(name)
        return self.needs.setdefault(net, Needs())

    def _dummy(self):
        return 0.5 + 0.5 * torch.rand(len(self.x), dtype=self.x.dtype, generator=self.gen)

    def coord(self, axis):
        return self.x[:, axis]

    def value(self, name):
        self._net(name).value = True
        return self._dummy()

    def parameter(self, name):
        self.parameters_read.add(name)
        return self.problem.parameters[name].value.detach().to(self.x.dtype)

    def _local(self, name, axis):
        return self.problem.local_axis(name, axis, "reads")

    def d1(self, name, axis):
        self._net(name).first.add(self._local(name, axis))
        return self._dummy()

    def d2(self, name, i, j):
        i, j = sorted((self._local(name, i), self._local(name, j)))
        self._net(name).pairs.add((i, j))
        return self._dummy()

    def laplacian(self, name, axes):
        self._net(name).groups.add(tuple(sorted(self._local(name, a) for a in axes)))
        return self._dummy()
