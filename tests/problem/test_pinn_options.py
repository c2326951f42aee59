"""PINN practice as options: residual-based adaptive sampling (Adaptive), causal weights in time (Causal), float64."""
import math

import numpy as np
import pytest
import torch

import siren
from siren.errors import SirenError
from siren.models import build_model
from siren.problem import Adaptive, Causal, Dirichlet, Initial, Interval, Problem, Residual, TimeInterval

TINY = {"hidden_features": 16, "hidden_layers": 2, "first_omega_0": 3.0}
pytestmark = pytest.mark.usefixtures("one_thread")


def bump(x):
    return torch.exp(-((x - 0.8) / 0.03) ** 2)


@pytest.mark.parametrize("c", [0.0, 1.0])
def test_adaptive_points_follow_a_known_residual(c):
    """The residual is a bump at x = 0.8 whatever the network: the drawn points' share in [0.7, 0.9] is the
    density's, (int over it of |r| / mean |r| + 0.2 c) / (1 + c) (uniform: 0.2)."""
    rad = Adaptive(every=5, candidates=50, c=c)
    problem = Problem(Interval(0, 1), constraints={"pde": Residual(lambda v: 0 * v.u + bump(v.x), points=400,
                                                                   adaptive=rad)})
    problem.compile()
    models, gen = {"solution": build_model("siren", 1, 1, **TINY)}, torch.Generator().manual_seed(0)
    before = problem.terms(models, gen, step=4)                       # before `every`: the uniform sampler
    assert rad.pool is None and math.isfinite(float(before["pde"][0].detach()))
    (x, _, _), = rad.sets(problem, "pde", models, gen, step=5)
    share = float(((x[:, 0] > 0.7) & (x[:, 0] < 0.9)).double().mean())
    assert share == pytest.approx((1 + 0.2 * c) / (1 + c), abs=0.05)        # the whole bump is in [0.7, 0.9]
    assert len(x) == 400
    first = rad.p.clone()
    rad.sets(problem, "pde", models, gen, step=7)                     # between refreshes: the same pool
    assert torch.equal(rad.p, first)


def test_adaptive_density_is_the_closed_form():
    r = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])                 # |r| = 5, 0, 1; mean 2
    p = Adaptive(k=1.0, c=0.5).density(r)
    expected = torch.tensor([5 / 2 + 0.5, 0.5, 1 / 2 + 0.5], dtype=torch.float64)
    assert torch.allclose(p, expected / expected.sum())


def test_adaptive_resumes_exactly(tmp_path):
    from siren.cli import main
    path = tmp_path / "p.py"
    path.write_text("from siren.problem import Adaptive, Dirichlet, Interval, Problem, Residual\n"
                    "problem = Problem(Interval(0, 1), constraints={'pde': Residual(lambda v: v.d('u', 'x', 'x') + 1, "
                    "points=32, adaptive=Adaptive(every=7, candidates=4)), 'ends': Dirichlet('u', 0.0, points=4)})\n")
    args = ["solve", str(path), "--hidden-features", "16", "--hidden-layers", "2", "--first-omega-0", "3", "--lr", "1e-3",
            "--schedule", "constant", "--no-progress", "--checkpoint-every", "10", "--log-every", "10"]
    assert main([*args, "--steps", "30", "--out", str(tmp_path / "whole")]) == 0
    assert main([*args, "--steps", "20", "--out", str(tmp_path / "part")]) == 0
    assert main([*args, "--steps", "30", "--out", str(tmp_path / "part"), "--resume"]) == 0
    assert siren.load(tmp_path / "whole").history[-1]["loss"] == siren.load(tmp_path / "part").history[-1]["loss"]


def test_causal_weights_are_the_closed_form():
    causal = Causal(eps=2.0, bins=3)
    losses = torch.tensor([0.5, 0.25, 1.0])
    expected = torch.tensor([1.0, math.exp(-2 * 0.5), math.exp(-2 * 0.75)])
    assert torch.allclose(causal.weights(losses), expected)
    t = torch.tensor([0.1, 0.2, 0.5, 0.9, 0.95], dtype=torch.float64)       # bins of [0, 1]: 0, 0, 1, 2, 2
    r = torch.tensor([1.0, 3.0, 2.0, 1.0, 1.0], requires_grad=True)
    assert torch.allclose(causal.bin_losses(r, t, 0.0, 1.0), torch.tensor([5.0, 4.0, 1.0]))
    domain = Interval(0, 1) * TimeInterval(0, 1)
    term = causal.term("pde", r, torch.stack([t, t], 1), domain)
    w = [1.0, math.exp(-10), math.exp(-18)]
    assert float(term.detach()) == pytest.approx((5 * w[0] + 4 * w[1] + 1 * w[2]) / 3)
    term.backward()                                                     # no gradient through the weights
    grad = [w[0] * 2 * 1 / 2, w[0] * 2 * 3 / 2, w[1] * 2 * 2, w[2] * 2 * 1 / 2, w[2] * 2 * 1 / 2]
    assert torch.allclose(r.grad, torch.tensor(grad) / 3)


def test_causal_trains_an_evolution_problem_and_refuses_a_static_one(tmp_path):
    problem = Problem(Interval(0, 1) * TimeInterval(0, 1), constraints={
        "pde": Residual(lambda v: v.d("u", "t") - v.d("u", "x", "x"), points=64, causal=Causal(bins=4)),
        "initial": Initial("u", lambda p: torch.sin(math.pi * p.x), points=16)})
    sol = siren.solve(problem, steps=10, out=tmp_path / "heat", progress=False, report=False, **TINY)
    assert math.isfinite(sol.history[-1]["pde"])
    static = Problem(Interval(0, 1), constraints={"pde": Residual(lambda v: v.d("u", "x") - 1, causal=Causal())})
    with pytest.raises(SirenError, match="'pde': causal weighting needs a space-time domain"):
        siren.solve(static, steps=1, out=tmp_path / "static", progress=False, report=False, **TINY)


def test_bad_options_are_one_line():
    with pytest.raises(SirenError, match="positive integers"):
        Adaptive(every=0)
    with pytest.raises(SirenError, match="causal= takes a siren.problem.Causal"):
        Residual(lambda v: v.u, causal=1.0)
    problem = Problem(Interval(0, 1), constraints={"pde": Residual(lambda v: v.u, sampler="sobol", points=8,
                                                                   adaptive=Adaptive(every=1))})
    problem.compile()
    with pytest.raises(SirenError, match="'pde': adaptive sampling needs a residual with a random"):
        problem.terms({"solution": build_model("siren", 1, 1, **TINY)}, torch.Generator(), step=1)


def test_float64_training_and_its_derivatives_match_float64_autograd(tmp_path):
    """siren.solve(dtype="float64"): the network and its stored copy are float64, and the derivatives the
    residuals read (forward mode, chain rule to the user's units) equal float64 autograd to 1e-10."""
    problem = Problem(Interval(0, 2) * TimeInterval(0, 4), constraints={
        "pde": Residual(lambda v: v.d("u", "t") - v.d("u", "x", "x"), points=32),
        "walls": Dirichlet("u", 0.0, points=8)})
    sol = siren.solve(problem, steps=5, dtype="float64", out=tmp_path / "f64", progress=False, report=False, **TINY)
    net = sol.model
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert next(siren.load(tmp_path / "f64").model.parameters()).dtype == torch.float64
    x = np.array([[0.3, 1.0], [1.7, 3.5]])
    d = sol.derivatives(x, order=2)
    scale = torch.tensor([1.0, 0.5], dtype=torch.float64)           # 2 / (hi - lo)

    def u(p):
        return net((p * scale - 1)[None])[0, 0]
    for n, p in enumerate(torch.tensor(x)):
        grad = torch.autograd.functional.jacobian(u, p)
        hess = torch.autograd.functional.hessian(u, p)
        assert np.allclose(d["gradient"][n, 0], grad.numpy(), rtol=1e-10, atol=1e-12)
        assert np.allclose(d["hessian"][n, 0], hess.numpy(), rtol=1e-10, atol=1e-12)
