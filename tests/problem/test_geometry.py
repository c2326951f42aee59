"""Domains: set operations, boundary parts and outward normals, space-time slices, samplers, user points."""
import numpy as np
import pytest
import torch

from siren.errors import SirenError
from siren.problem import Disk, Interval, Points, Polygon, Rectangle, TimeInterval
from siren.problem.sampling import draw, fixed

GEN = lambda: torch.Generator().manual_seed(0)  # noqa: E731


def test_plate_with_a_hole_has_outward_normals_and_named_parts():
    plate = Rectangle([-1, -1], [1, 1], name="square") - Disk([0, 0], 0.3, name="hole")
    x, n, _ = draw(plate, "hole", 500, GEN())
    assert torch.allclose(x.norm(dim=1), torch.full((500,), 0.3, dtype=x.dtype))
    assert torch.allclose(n, -x / 0.3)                                  # out of the plate = into the hole
    x, n, _ = draw(plate, "top", 200, GEN())
    assert torch.all(x[:, 1] == 1) and torch.all(n == torch.tensor([0.0, 1.0], dtype=n.dtype))
    x = plate.interior(2000, GEN())
    assert torch.all(x.norm(dim=1) > 0.3) and torch.all(x.abs() <= 1)
    share = (plate.boundary(4000, GEN())[2] == plate.parts.index("hole.arc")).double().mean()
    assert abs(share - 0.6 * np.pi / (8 + 0.6 * np.pi)) < 0.03          # boundary points by arc length


def test_l_shape_keeps_only_the_true_boundary():
    lshape = Rectangle([-1, -1], [1, 1]) - Rectangle([0, 0], [1, 1])
    x, n, _ = lshape.boundary(3000, GEN())
    assert not torch.any((x[:, 0] > 1e-9) & (x[:, 1] > 1e-9))             # the cut-out square's outer edges are gone
    inner = (x[:, 0].abs() < 1e-12) & (x[:, 1] > 0)
    assert inner.any() and torch.all(n[inner] == torch.tensor([1.0, 0.0], dtype=n.dtype))
    poly = Polygon([[-1, -1], [1, -1], [1, 0], [0, 0], [0, 1], [-1, 1]])
    pts = torch.tensor([[0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]], dtype=torch.float64)
    assert poly.contains(pts).tolist() == lshape.contains(pts).tolist() == [False, True, True]
    assert torch.allclose(poly.sdf(pts), lshape.sdf(pts))


def test_union_intersection_and_space_time():
    both = Disk([0, 0], 1) & Rectangle([0, -2], [2, 2])
    assert torch.all(both.interior(500, GEN())[:, 0] >= 0)
    either = Disk([-1, 0], 0.5) | Disk([1, 0], 0.5)
    assert torch.all(either.interior(500, GEN())[:, 0].abs() >= 0.5)
    st = Interval(-1, 1) * TimeInterval(0, 2)
    x0, _, _ = draw(st, "initial", 100, GEN())
    assert torch.all(x0[:, 1] == 0)
    xb, nb, _ = draw(st, "right", 100, GEN())
    assert torch.all(xb[:, 0] == 1) and torch.all(nb[:, 1] == 0) and torch.all(xb[:, 1] <= 2)


@pytest.mark.parametrize("method", ["sobol", "halton", "grid"])
def test_fixed_samplers_stay_inside(method):
    plate = Rectangle([-1, -1], [1, 1]) - Disk([0, 0], 0.5)
    x, _, _ = fixed(plate, "interior", 300, method, 0)
    assert 250 <= len(x) <= 300 and torch.all(plate.contains(x))


def test_user_points_from_files(tmp_path):
    pts = np.random.default_rng(0).random((20, 2))
    np.save(tmp_path / "p.npy", pts)
    np.savetxt(tmp_path / "p.csv", pts, delimiter=",")
    for f in ("p.npy", "p.csv"):
        x, n, _ = draw(Rectangle([0, 0], [1, 1]), Points(tmp_path / f), 5, None)
        assert np.allclose(x.numpy(), pts) and n is None


@pytest.mark.parametrize("make", [lambda: Interval(1, 1), lambda: Rectangle([0, 0], [1, 0]), lambda: Disk([0, 0], 0),
                                  lambda: Rectangle([0, 0], [1, 1]) - Rectangle([-1, -1], [2, 2]),
                                  lambda: Polygon([[0, 0], [1, 1], [2, 2]]), lambda: TimeInterval(1, 1)])
def test_zero_measure_is_refused(make):
    with pytest.raises(SirenError, match="zero measure"):
        make()
