import numpy as np
import pytest
import trimesh

from siren.errors import SirenError
from helpers import chamfer_distance, f_score, normal_consistency
from siren.metrics import mesh_metrics
from siren.shapes import Sphere, sample_surface


def test_identical_sets():
    points, normals = sample_surface(Sphere(0.5), 2000, seed=0)
    assert chamfer_distance(points, points) == 0.0
    assert normal_consistency(points, normals, points, -normals) == pytest.approx(1.0)  # sign ignored
    assert f_score(points, points, threshold=1e-9) == 1.0


def test_concentric_spheres():
    """Every nearest neighbour across spheres of radii 0.5 and 0.55 is at least 0.05 away (radially), plus a small
    tangential offset from the sampling: Chamfer ~ 0.05, normals parallel, F = 0 below 0.05 and 1 above."""
    a, na = sample_surface(Sphere(0.5), 20_000, seed=0)
    b, nb = sample_surface(Sphere(0.55), 20_000, seed=1)
    assert 0.05 <= chamfer_distance(a, b) < 0.051  # measured 0.05055
    assert normal_consistency(a, na, b, nb) > 0.995
    assert f_score(a, b, 0.049) == 0.0 and f_score(a, b, 0.06) == 1.0
    assert normal_consistency(a, na, b, np.cross(nb, [0.0, 0.0, 1.0]) + 1e-9 * nb) < 0.75  # tangent: mean |cos| ~ 2/3


def test_f_score_and_chamfer_closed_form():
    """a = b (on a sphere of radius 0.5) plus k copies of its center: precision n / (n + k), recall 1,
    F = 2 P / (P + 1); Chamfer = (k 0.5 / (n + k) + 0) / 2."""
    b = sample_surface(Sphere(0.5), 1000, seed=0)[0]
    a = np.vstack([b, np.zeros((250, 3))])
    p = 1000 / 1250
    assert f_score(a, b, 0.01) == pytest.approx(2 * p / (p + 1))
    assert chamfer_distance(a, b) == pytest.approx(250 * 0.5 / 1250 / 2)


def test_mesh_metrics_in_diagonal_units():
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    ref, normals = sample_surface(Sphere(0.5), 20_000, seed=0)
    m = mesh_metrics(mesh, ref, normals, samples=20_000, seed=0)
    diagonal = np.linalg.norm(ref.max(0) - ref.min(0))  # ~ sqrt(3)
    floor = chamfer_distance(sample_surface(Sphere(0.5), 20_000, seed=1)[0], ref) / diagonal  # sampling alone
    assert m["chamfer"] < 1.1 * floor and m["normal_consistency"] > 0.999 and m["f_score"] > 0.99  # 0.997
    scaled = mesh_metrics(mesh.copy().apply_scale(10), ref * 10, normals, samples=20_000, seed=0)
    assert scaled["chamfer"] == pytest.approx(m["chamfer"]) and scaled["f_score"] == pytest.approx(m["f_score"])
    bigger = mesh_metrics(trimesh.creation.icosphere(subdivisions=4, radius=0.55), ref, samples=20_000)
    assert bigger["chamfer"] == pytest.approx(0.05 / diagonal, rel=0.05) and np.isnan(bigger["normal_consistency"])
    assert bigger["f_score"] == 0.0  # 0.05 > 1% of the diagonal


def test_mesh_metrics_equal_the_reference_definitions_on_the_same_samples():
    """siren.metrics.mesh_metrics against brute KD-tree definitions (tests/helpers.py) on the mesh samples it
    draws (area-uniform, seeded) with their face normals."""
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    ref, normals = sample_surface(Sphere(0.52), 3000, seed=0)
    m = mesh_metrics(mesh, ref, normals, samples=4000, seed=3, threshold=0.02)
    points, face = trimesh.sample.sample_surface(mesh, 4000, seed=3)
    diagonal = np.linalg.norm(ref.max(0) - ref.min(0))
    assert m["chamfer"] == pytest.approx(chamfer_distance(points, ref) / diagonal, rel=1e-12)
    assert m["normal_consistency"] == pytest.approx(normal_consistency(points, mesh.face_normals[face], ref, normals),
                                                    rel=1e-12)
    assert m["f_score"] == pytest.approx(f_score(points, ref, 0.02 * diagonal), rel=1e-12)


def test_bad_input():
    with pytest.raises(SirenError, match=r"\(N, 3\) point array, got shape \(10, 2\)"):
        mesh_metrics(trimesh.creation.icosphere(subdivisions=1), np.zeros((10, 2)))
    with pytest.raises(SirenError, match="no faces"):
        mesh_metrics(trimesh.Trimesh(), np.zeros((10, 3)), None)
