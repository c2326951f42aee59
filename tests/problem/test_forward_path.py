"""Every constraint of a problem takes `siren.diff`'s forward mode for every family that has it: the dry run's
requests are what each step asks, and autograd's derivatives are called only where `siren.diff` itself prefers
them (`prefers_autograd`: gradient-only requests on the baselines, where autograd is the faster path)."""
import numpy as np
import pytest
import torch

import siren.diff
from siren.models import MODEL_NAMES, build_model
from siren.problem import (Dirichlet, Disk, Field, Hard, Initial, Neumann, Observation, Parameter, Periodic, Problem,
                           Rectangle, Residual, Robin, TimeInterval)

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem():
    space = Rectangle([-1, -1], [1, 1], name="box") - Disk([0, 0], 0.3, name="hole")
    return Problem(space * TimeInterval(0, 1), outputs=("u", "p"), unknowns={
        "c": Parameter(1.0), "k": Field(("x", "y"), hidden_features=8, hidden_layers=1)}, constraints={
        "pde": Residual(lambda v: torch.stack([v.d("u", "t", "t") - v.c * v.laplacian("u") + v.d("u", "x", "y"),
                                               v.div(("u", "p")) - v.k * v.d("k", "x")], -1), points=16),
        "wall": Dirichlet("u", 0.0, on="box", points=8),
        "hole": Neumann("p", 0.0, on="hole", points=8),
        "robin": Robin("p", 1.0, 2.0, 0.0, on="top", points=8),
        "ring": Periodic("p", "x", points=8),
        "start": Initial("u", 0.0, order=1, points=8),
        "data": Observation(np.array([[0.5, 0.5, 0.5]]), np.array([1.0]), "p"),
    }, hard={"p": Hard(0.0, lambda q: q.t)})


@pytest.mark.parametrize("family", MODEL_NAMES)
def test_every_constraint_takes_forward_mode(family, monkeypatch):
    model = build_model(family, 3, 2, hidden_features=8, hidden_layers=1)
    if not siren.diff.supports_forward(model):
        pytest.skip(f"{family} has no forward mode")
    problem = _problem()
    problem.compile()
    assert problem.requests["pde"]["solution"].hessian                  # u_xy: a mixed entry
    assert problem.requests["wall"]["solution"].first_order is False     # values only

    prefers = getattr(siren.diff, "prefers_autograd", lambda model, request: False)
    taken = []
    real = siren.diff.autograd_derivatives

    def spy(net, x, request):
        assert prefers(net, request), f"autograd taken for {request}"
        taken.append(request)
        return real(net, x, request)
    monkeypatch.setattr(siren.diff, "autograd_derivatives", spy)
    terms = problem.terms({"solution": model, "k": problem.fields["k"].model}, torch.Generator().manual_seed(0))
    assert set(terms) == set(problem.constraints)
    assert all(torch.isfinite(t) for t, _ in terms.values())
    assert not any(r.second_order for r in taken)                     # second derivatives always forward
