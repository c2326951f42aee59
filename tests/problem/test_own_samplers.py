"""Own samplers (with the step), per-point data, random batches of the user's points, complex residuals and box=:
checked against autograd in float64 and against the residuals computed by hand on the same points."""
import numpy as np
import pytest
import torch

from siren.errors import SirenError
from siren.models import build_model
from siren.problem import Interval, Points, Problem, Rectangle, Residual

pytestmark = pytest.mark.usefixtures("one_thread")


def _net(d_in, d_out=1):
    torch.manual_seed(0)
    return build_model("siren", d_in, d_out, hidden_features=16, hidden_layers=2).double()


def test_box_sets_the_networks_scale_and_derivatives_stay_in_user_units():
    problem = Problem(Rectangle([0, 0], [1, 2]), box={"y": (0.0, 4.0)},
                      constraints={"pde": Residual(lambda v: v.d("u", "x", "y"), points=4)})
    assert np.allclose(problem.lo, [0, 0]) and np.allclose(problem.hi, [1, 4])
    model = _net(2)
    x = np.random.default_rng(0).uniform([0, 0], [1, 2], (7, 2))
    got = problem.evaluate({"solution": model}, x, order=2)
    scale, shift = torch.tensor([2.0, 0.5], dtype=torch.float64), torch.tensor([-1.0, -1.0], dtype=torch.float64)

    def f(p):                                       # the network in the user's units: z = (2 x - 1, y / 2 - 1)
        return model(p * scale + shift)[:, 0]
    xt = torch.tensor(x, requires_grad=True)
    grad = torch.autograd.grad(f(xt).sum(), xt, create_graph=True)[0]
    hess = torch.stack([torch.autograd.grad(grad[:, i].sum(), xt, retain_graph=True)[0] for i in range(2)], 1)
    assert np.allclose(got["value"][:, 0], f(xt).detach().numpy(), atol=1e-12)
    assert np.allclose(got["gradient"][:, 0], grad.detach().numpy(), atol=1e-10)
    assert np.allclose(got["hessian"][:, 0], hess.detach().numpy(), atol=1e-9)


def test_identity_box_feeds_the_points_unchanged():
    """On [-1, 1]^d the network sees the points themselves, bit for bit (no (x + 1) - 1 rounding)."""
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, z):
            seen.append(z.detach().clone())
            return self.w * z[:, :1]
    x = torch.rand(9, 2, dtype=torch.float64) * 2 - 1
    problem = Problem(Rectangle([-1, -1], [1, 1]), constraints={"fit": Residual(lambda v: v.u, on=Points(x))})
    problem.compile()
    problem.terms({"solution": Spy()}, torch.Generator())
    assert torch.equal(seen[-1], x.float())


def test_points_carry_their_data_through_random_batches():
    x = np.linspace(0, 1, 40)[:, None]
    pts = Points(x, data={"f": np.sin(3 * x[:, 0])}, batch=16)
    sizes = []

    def check(v):
        sizes.append(len(v.x))
        return v.data["f"].to(v.x) - torch.sin(3 * v.x)
    problem = Problem(Interval(0, 1), constraints={"pde": Residual(check, on=pts)})
    problem.compile()
    gen = torch.Generator().manual_seed(0)
    first = problem.point_sets("pde", gen)[0][0]
    second = problem.point_sets("pde", gen)[0][0]
    assert len(first) == 16 and not torch.equal(first, second)       # a fresh batch each step
    term, _ = problem.terms({"solution": _net(1)}, gen)["pde"]
    assert float(term) < 1e-12 and sizes[-1] == 16


def test_own_sampler_sees_the_step_and_a_complex_residual_weighs_its_modulus():
    steps = []

    def sampler(n, gen, step):
        steps.append(step)
        return {"x": torch.rand(n, 1, generator=gen, dtype=torch.float64), "w": torch.full((n,), 2.0)}
    problem = Problem(Interval(0, 1), constraints={
        "c": Residual(lambda v: torch.complex(v.u, v.data["w"].to(v.u) * v.u), points=32, sampler=sampler)})
    problem.compile()
    model = _net(1)
    term, _ = problem.terms({"solution": model}, torch.Generator().manual_seed(3), step=7)["c"]
    x = torch.rand(32, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    u = model(2 * x - 1)[:, 0]
    assert steps[-1] == 7 and torch.allclose(term, (5 * u ** 2).mean(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, says", [
    (dict(box={"z": (0.0, 1.0)}), "box 'z'"),
    (dict(box={"x": (1.0, 0.0)}), "box 'x'"),
    (dict(constraints={"pde": Residual(lambda v: v.u, sampler=lambda n, g, s: torch.zeros(n))}), "'pde'"),
    (dict(constraints={"pde": Residual(lambda v: v.u, sampler=lambda n, g, s: {"y": torch.zeros(n, 1)})}), "'pde'"),
])
def test_bad_box_or_sampler_is_one_line(kwargs, says):
    kwargs.setdefault("constraints", {"pde": Residual(lambda v: v.u)})
    with pytest.raises(SirenError, match=says) as err:
        Problem(Interval(0, 1), **kwargs).compile()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("noise", [0.01, 10.0])
def test_flooded_observation_fits_down_to_its_noise_and_no_further(noise):
    """term = |L - noise^2| + noise^2: the gradient of the plain mean L above the noise level, its negative below."""
    from siren.problem import Observation
    x, y = np.linspace(0, 1, 9)[:, None], np.sin(np.linspace(0, 1, 9))
    model = _net(1)
    plain = Problem(Interval(0, 1), constraints={"data": Observation(x, y, noise=noise)})
    flooded = Problem(Interval(0, 1), constraints={"data": Observation(x, y, noise=noise, flood=True)})
    for problem in (plain, flooded):
        problem.compile()
    grads = []
    for problem in (plain, flooded):
        model.zero_grad()
        term, _ = problem.terms({"solution": model}, torch.Generator())["data"]
        term.backward()
        grads.append((float(term.detach()), [p.grad.clone() for p in model.parameters()]))
    (low, g_plain), (high, g_flood) = grads
    sign = 1.0 if low > noise ** 2 else -1.0
    assert high == pytest.approx(abs(low - noise ** 2) + noise ** 2, rel=1e-12)
    assert all(torch.allclose(a, sign * b) for a, b in zip(g_flood, g_plain))
    with pytest.raises(SirenError, match="noise"):
        Observation(x, y, flood=True)
