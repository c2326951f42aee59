"""Unknowns of an inverse problem, learned with the solution.

    Parameter(init, truth=None, lr=1e-2)        a scalar; residuals read it as v.name (0-dim tensor); Adam moves it
                                                by about lr a step, so lr is its own (the network's is smaller)
    Field(inputs=("x",), model="siren", truth=None, **options)
                                                a coefficient field: a second network (`siren.models.build_model`,
                                                any family, `options` as there, e.g. hidden_features=32) of the
                                                named inputs, which it sees mapped to [-1, 1] over the domain's box;
                                                residuals read v.name (N,) and its derivatives v.d(name, "x")

truth: the true value (a number; for a field a function of an (N, k) NumPy array of its inputs -> (N,)); the run
reports the error: |p - truth| / |truth| for a parameter, relative L2 on a grid of the box for a field.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import SirenError

__all__ = ["Parameter", "Field"]


class Parameter:
    """A scalar unknown (see the module docstring)."""

    def __init__(self, init: float = 0.0, truth: float | None = None, lr: float = 1e-2):
        self.value = nn.Parameter(torch.tensor(float(init), dtype=torch.float32))
        self.truth, self.lr = truth, float(lr)


class Field:
    """A coefficient field unknown (see the module docstring)."""

    def __init__(self, inputs=("x",), model: str = "siren", truth=None, **options):
        self.inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        self.model_name, self.options, self.truth = model, options, truth
        self.model = None

    def build(self, seed: int) -> nn.Module:
        """The field's network, initialised from `seed` alone (not from the global random state), so every process
        and every run of the same problem starts from the same field."""
        from ..models import build_model
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.model = build_model(self.model_name, len(self.inputs), 1, hints={"seed": seed}, **self.options)
        except ValueError as e:
            raise SirenError(str(e)) from None
        return self.model
