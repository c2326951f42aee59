"""The names a view resolves (inputs, outputs, unknowns) and which network answers each: what a `Problem` and a
loaded `Solution` share."""
from __future__ import annotations

from ..errors import SirenError
from .view import View

__all__ = ["Frame"]


class Frame:
    """inputs, outputs (names), space (the spatial inputs), lo, hi (the box, arrays (d,)), parameters {name:
    Parameter}, fields {name: Field}, hard {output: Hard}."""
    inputs: tuple
    outputs: tuple
    space: tuple
    parameters: dict
    fields: dict
    hard: dict

    def network_of(self, name: str) -> str:
        return "solution" if name in self.outputs else name

    def axes_of(self, net: str) -> list[int]:
        if net == "solution":
            return list(range(len(self.inputs)))
        return [self.inputs.index(i) for i in self.fields[net].inputs]

    def local_axis(self, name: str, axis: int, verb: str = "reads") -> int:
        axes = self.axes_of(self.network_of(name))
        if axis not in axes:
            raise SirenError(f"a derivative of field {name!r} by {self.inputs[axis]!r}, which it does not depend on "
                             f"(its inputs: {', '.join(self.fields[name].inputs)})")
        return axes.index(axis)

    def view_of(self, source, normal=None, constraint: str = "", data: dict | None = None) -> View:
        return View(source, self, normal, constraint, data)

    def affine(self, axes) -> tuple:
        """The map of the user's coordinates along `axes` onto the network's inputs, z = s x + b (arrays (k,)):
        s = 2 / (hi - lo), b = -1 - s lo, so the box [lo, hi] becomes [-1, 1] (exactly z = x on [-1, 1])."""
        import numpy as np
        s = 2 / (np.asarray(self.hi)[axes] - np.asarray(self.lo)[axes])
        return s, -1 - s * np.asarray(self.lo)[axes]

    def field_at(self, name: str, x):
        """The unknown field `name` at points x (N, k) of its inputs (NumPy, the user's units) -> (N,) float64."""
        import numpy as np
        import torch
        net = self.fields[name].model
        p = next(net.parameters())
        s, b = self.affine(self.axes_of(name))
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(x, float), dtype=p.dtype, device=p.device)
            z = z * torch.as_tensor(s, dtype=p.dtype, device=p.device) + torch.as_tensor(b, dtype=p.dtype,
                                                                                          device=p.device)
            return net(z)[:, 0].double().cpu().numpy()

    def evaluate(self, models: dict, x, order: int = 0, batch: int = 8192) -> dict:
        """The outputs at points x (N, d) (NumPy, the user's units) -> {"value": (N, C)} and, for order >= 1,
        "gradient" (N, C, d) [n, c, i] = d out_c / d x_i; order 2 also "hessian" (N, C, d, d). NumPy float64."""
        import numpy as np
        import torch

        from ..diff import Request
        from .live import Live
        x = np.asarray(x, float).reshape(-1, len(self.inputs))
        p = next(models["solution"].parameters())
        request = {"solution": Request(gradient=order >= 1 or (order >= 2 and bool(self.hard)), hessian=order >= 2)}
        d, parts = len(self.inputs), {"value": [], "gradient": [], "hessian": []}
        for start in range(0, len(x), batch):
            xt = torch.as_tensor(x[start:start + batch], dtype=p.dtype, device=p.device)
            with torch.set_grad_enabled(order > 0):
                live = Live(self, xt, models, request, order=order)
                parts["value"].append(torch.stack([live.value(o) for o in self.outputs], -1).detach())
                if order >= 1:
                    parts["gradient"].append(torch.stack([torch.stack([live.d1(o, i) for i in range(d)], -1)
                                                          for o in self.outputs], 1).detach())
                if order >= 2:
                    parts["hessian"].append(torch.stack([torch.stack([torch.stack(
                        [live.d2(o, i, j) for j in range(d)], -1) for i in range(d)], -2) for o in self.outputs],
                        1).detach())
        return {k: torch.cat(v).double().cpu().numpy() for k, v in parts.items() if v}
