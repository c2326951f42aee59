"""The domains' smooth approximate distances (R-functions): zero on the boundary, positive inside, negative outside,
gradient -n (unit, inward) on the boundary away from corners; `Hard(g, "boundary")` holds exactly on the boundary
and a run that uses only named distances loads without its problem.py."""
import numpy as np
import pytest
import torch

import siren
from siren.errors import SirenError
from siren.problem import Dirichlet, Disk, Hard, Interval, Polygon, Problem, Rectangle, Residual, TimeInterval
from siren.problem.distance import distance

pytestmark = pytest.mark.usefixtures("one_thread")

DOMAINS = {"L-shape": Rectangle([-1, -1], [1, 1]) - Rectangle([0, 0], [1, 1]),
           "plate with a hole": Rectangle([-1, -1], [1, 1]) - Disk([0, 0], 0.3),
           "union": Disk([0, 0], 0.5) | Rectangle([0, -0.2], [1, 0.2]),
           "intersection": Disk([0, 0], 1.0) & Rectangle([-2, -0.5], [2, 0.5]),
           "concave polygon": Polygon([[0, 0], [2, 0], [2, 1], [1, 0.4], [0, 1]])}


@pytest.mark.parametrize("name", DOMAINS)
def test_distance_vanishes_on_the_boundary_with_unit_inward_slope(name):
    domain = DOMAINS[name]
    gen = torch.Generator().manual_seed(0)
    x, n, _ = domain.boundary(500, gen)
    x = x.double().requires_grad_(True)
    phi = distance(domain, x)
    assert float(phi.detach().abs().max()) < 1e-9
    inside = domain.interior(500, gen).double()
    assert bool((distance(domain, inside) > 0).all())
    box = torch.rand(2000, 2, generator=gen, dtype=torch.float64) * torch.as_tensor(domain.hi - domain.lo) \
        + torch.as_tensor(domain.lo)
    out = box[~domain.contains(box)]
    assert bool((distance(domain, out) < 0).all())
    if name != "concave polygon":                  # an unsigned edge distance has no slope on the edge itself
        slope = (torch.autograd.grad(phi.sum(), x)[0] * n).sum(-1).detach()
        corner = np.isclose(slope.numpy(), -1, atol=1e-3).mean()
        assert corner > 0.95                        # all but points next to corners


def test_named_distance_makes_the_boundary_condition_exact_and_loads_without_the_file(tmp_path):
    plate = Rectangle([-1, -1], [1, 1]) - Rectangle([0, 0], [1, 1])
    problem = Problem(plate * TimeInterval(0, 0.5), hard={"u": Hard(0.0, ["boundary", "initial"])}, constraints={
        "pde": Residual(lambda v: v.d("u", "t") - 0.25 * v.laplacian("u") - 1.0, points=64)})
    sol = siren.solve(problem, steps=3, out=tmp_path / "heat", progress=False, report=False,
                      hidden_features=16, hidden_layers=1)
    x, _, _ = plate.boundary(200, torch.Generator().manual_seed(2))
    walls = np.concatenate([x.numpy(), np.full((200, 1), 0.3)], 1)
    start = np.concatenate([plate.interior(200, torch.Generator().manual_seed(3)).numpy(), np.zeros((200, 1))], 1)
    assert np.abs(sol(walls)).max() < 1e-6 and np.abs(sol(start)).max() < 1e-6
    assert not (tmp_path / "heat" / "problem.py").exists()
    again = siren.load(tmp_path / "heat")
    inside = np.array([[-0.5, -0.5, 0.25], [-0.2, 0.6, 0.4]])
    assert np.allclose(again(inside), sol(inside), atol=1e-6) and np.abs(sol(inside)).max() > 0


def test_bad_named_distance_is_one_line():
    with pytest.raises(SirenError, match="distance"):
        Hard(0.0, "walls")
    with pytest.raises(SirenError, match="space-time"):
        Problem(Interval(0, 1), hard={"u": Hard(0.0, "initial")}, constraints={"bc": Dirichlet("u", 0.0)})
