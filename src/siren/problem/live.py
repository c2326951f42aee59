"""One step's values for a view: every network evaluated once by `siren.diff.derivatives` with the Request its
constraint's dry run recorded, then put in the user's units by the chain rule (and through a hard constraint's
product rule). See `siren.problem.view` for the scaling."""
from __future__ import annotations

import torch

from .. import diff
from .transform import combine

__all__ = ["Live"]


class Live:
    """A view source over points x (N, d) (physical units, the model's dtype)."""

    def __init__(self, problem, x: torch.Tensor, models: dict, requests: dict, order: int = 2):
        self.problem, self.x, self.order = problem, x, order
        self.out, self.scales, self.hard = {}, {}, {}
        for net, request in requests.items():
            s, b = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in problem.affine(problem.axes_of(net)))
            self.scales[net] = s
            self.out[net] = diff.derivatives(models[net], x[:, problem.axes_of(net)] * s + b, request)

    # the network, in the user's units ----------------------------------------------------------------------
    def _where(self, name):
        net = self.problem.network_of(name)
        return net, (self.problem.outputs.index(name) if net == "solution" else 0)

    def _n_value(self, net, c):
        return self.out[net].value[:, c]

    def _n_first(self, net, c, i):
        return self.out[net].gradient[:, c, i] * self.scales[net][i]

    def _n_second(self, net, c, i, j):
        i, j = min(i, j), max(i, j)
        s = self.scales[net]
        return self.out[net]._block(((i, j),))[:, c] * s[i] * s[j]

    def _n_laplacian(self, net, c, axes):
        s, block = self.scales[net], tuple((a, a) for a in axes)
        if block in self.out[net].blocks and len({float(s[a]) for a in axes}) == 1:
            return self.out[net].blocks[block][:, c] * s[axes[0]] ** 2       # one block, equal scales
        return sum(self._n_second(net, c, a, a) for a in axes)

    # transformed outputs ------------------------------------------------------------------------------------
    def _pieces(self, name):
        if name not in self.hard:
            pairs = [(i, j) for i in range(self.x.shape[1]) for j in range(i, self.x.shape[1])]
            self.hard[name] = self.problem.hard[name].pieces(self.x, self.problem.view_of, self.order,
                                                             pairs if self.order > 1 else [])
        return self.hard[name]

    def _network_pieces(self, net, c):
        return {"value": self._n_value(net, c), "first": _Lazy(lambda i: self._n_first(net, c, i)),
                "second": _Lazy(lambda ij: self._n_second(net, c, *ij))}

    # the source interface of `View` ------------------------------------------------------------------------
    def coord(self, axis):
        return self.x[:, axis]

    def parameter(self, name):
        return self.problem.parameters[name].value.to(self.x.dtype)

    def value(self, name):
        net, c = self._where(name)
        if name in self.problem.hard:
            g, d = self._pieces(name)
            return combine(self._network_pieces(net, c), g, d, "value")
        return self._n_value(net, c)

    def d1(self, name, axis):
        net, c = self._where(name)
        i = self.problem.local_axis(name, axis)
        if name in self.problem.hard:
            g, d = self._pieces(name)
            return combine(self._network_pieces(net, c), g, d, "first", i)
        return self._n_first(net, c, i)

    def d2(self, name, a, b):
        net, c = self._where(name)
        i, j = sorted((self.problem.local_axis(name, a), self.problem.local_axis(name, b)))
        if name in self.problem.hard:
            g, d = self._pieces(name)
            return combine(self._network_pieces(net, c), g, d, "second", i, j)
        return self._n_second(net, c, i, j)

    def laplacian(self, name, axes):
        net, c = self._where(name)
        local = tuple(sorted(self.problem.local_axis(name, a) for a in axes))
        if name in self.problem.hard:
            return sum(self.d2(name, a, a) for a in axes)
        return self._n_laplacian(net, c, local)


class _Lazy:
    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, key):
        return self.fn(key)
