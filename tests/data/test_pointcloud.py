import importlib.util
import warnings

import numpy as np
import pytest
import trimesh

from siren.data.pointcloud import demo_bunny, estimate_normals, load_points, point_cloud
from siren.errors import SirenError
from siren.shapes import Sphere, Torus, sample_surface


def write_xyz(path, rows, fmt="%.9g"):
    np.savetxt(path, rows, fmt=fmt)
    return path


def within_30_degrees(estimated, truth) -> float:
    """Fraction of normals within 30 degrees of the truth, sign included."""
    return float(np.mean(np.sum(estimated * truth, axis=1) > np.cos(np.radians(30))))


def test_xyz_with_normals_is_normalized_with_its_transform(tmp_path):
    points, normals = sample_surface(Sphere(2.0), 500, seed=0)
    points = points * [1.0, 0.5, 0.25] + [10.0, -3.0, 7.0]  # an ellipsoid away from the origin
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # normals given: nothing estimated, no warning
        pc = load_points(write_xyz(tmp_path / "e.xyz", np.hstack([points, 3 * normals])))
    assert pc.points.dtype == np.float32 and pc.points.shape == (500, 3)
    assert np.abs(pc.points).max() == pytest.approx(0.9, abs=1e-6)
    np.testing.assert_allclose((pc.points.max(0) + pc.points.min(0)) / 2, 0, atol=1e-6)
    np.testing.assert_allclose(pc.to_input_units(pc.points), points, atol=1e-5)
    np.testing.assert_allclose(pc.to_model_units(points), pc.points, atol=1e-6)
    np.testing.assert_allclose(pc.normals, normals, atol=1e-6)  # rescaled to unit length


@pytest.mark.parametrize("shape", [Sphere(0.5), Torus(0.5, 0.2)])
def test_estimated_normals_are_oriented_outward(shape):
    points, normals = sample_surface(shape, 5000, seed=1)
    noisy = points + 0.002 * np.random.default_rng(0).standard_normal(points.shape)
    assert within_30_degrees(estimate_normals(points), normals) >= 0.99  # measured: 1.0
    assert within_30_degrees(estimate_normals(noisy), normals) >= 0.99  # measured: 1.0


def test_xyz_without_normals_warns_and_estimates(tmp_path):
    points, normals = sample_surface(Torus(0.5, 0.2), 3000, seed=2)
    with pytest.warns(UserWarning, match="no normals, estimated"):
        pc = load_points(write_xyz(tmp_path / "t.txt", points))
    assert within_30_degrees(pc.normals, normals) >= 0.99
    assert load_points(tmp_path / "t.txt", estimate=False).normals is None


def test_xyz_comments_commas_and_blank_lines(tmp_path):
    rows = "\n".join(f"{i}, {i % 3}, {i % 5}, 0, 0, 1" for i in range(12))
    (tmp_path / "c.xyz").write_text(f"# header\n\n{rows}\n\n")
    assert load_points(tmp_path / "c.xyz").points.shape == (12, 3)


def error(path_or_call, *args, **kwargs) -> str:
    with pytest.raises(SirenError) as e:
        path_or_call(*args, **kwargs) if callable(path_or_call) else load_points(path_or_call)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_malformed_xyz_lines_are_named_by_line_number(tmp_path):
    good = "\n".join(f"{i} {i % 3} {i % 5}" for i in range(16))
    (tmp_path / "tones.xyz").write_text(good + "\na b\n")
    assert error(tmp_path / "tones.xyz") == "tones.xyz line 17: expected 3 or 6 numbers, got 'a b'"
    (tmp_path / "four.xyz").write_text("# comment\n" + good + "\n1 2 3 4\n")
    assert "four.xyz line 18: expected 3 or 6 numbers" in error(tmp_path / "four.xyz")
    (tmp_path / "mixed.xyz").write_text(good + "\n1 2 3 0 0 1\n")
    assert "mixed.xyz line 17: expected 3 numbers like line 1, got 6" in error(tmp_path / "mixed.xyz")
    (tmp_path / "nan.xyz").write_text(good + "\n1 nan 3\n" + good)
    assert "nan.xyz line 17: NaN or infinite value" in error(tmp_path / "nan.xyz")


def test_bad_point_clouds(tmp_path):
    assert "5 points, need at least 10" in error(write_xyz(tmp_path / "few.xyz", np.random.rand(5, 3)))
    assert "all 20 points are identical" in error(write_xyz(tmp_path / "same.xyz", np.ones((20, 3))))
    rows = np.hstack([np.random.rand(20, 3), np.tile([0.0, 0.0, 1.0], (20, 1))])
    rows[7, 3:] = 0
    assert "1 normals have zero length" in error(write_xyz(tmp_path / "zero.xyz", rows))
    points = np.random.rand(20, 3)
    points[3, 1] = np.inf
    assert "NaN or infinite coordinates (first: point 3)" in error(point_cloud, points)
    assert "expected (N, 3)" in error(point_cloud, np.zeros((20, 2)))
    assert "unknown point cloud format '.pcd'" in error(tmp_path / "x.pcd")
    assert "point cloud not found" in error(tmp_path / "missing.xyz")
    (tmp_path / "bad.ply").write_text("not a ply file")
    assert "cannot read bad.ply as a .ply mesh" in error(tmp_path / "bad.ply")
    (tmp_path / "empty.obj").write_text("hello\n")
    assert "empty.obj holds no mesh or points" in error(tmp_path / "empty.obj")


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".off", ".stl"])
def test_meshes_are_sampled_with_face_normals(tmp_path, suffix):
    path = tmp_path / f"ball{suffix}"
    trimesh.creation.icosphere(subdivisions=3, radius=3.0).apply_translation([1, 2, 3]).export(path)
    pc = load_points(path, samples=2000, seed=0)
    assert pc.points.shape == (2000, 3) and pc.normals.shape == (2000, 3)
    radius = np.linalg.norm(pc.to_input_units(pc.points) - [1, 2, 3], axis=1)
    assert radius.max() <= 3 + 1e-5 and radius.min() > 2.95  # flat faces sit slightly inside the sphere
    assert np.mean(np.sum(pc.points / np.linalg.norm(pc.points, axis=1)[:, None] * pc.normals, axis=1)) > 0.99
    np.testing.assert_array_equal(load_points(path, samples=2000, seed=0).points, pc.points)  # seeded


def test_ply_point_cloud_with_and_without_normals(tmp_path):
    points, normals = sample_surface(Sphere(0.5), 400, seed=0)
    props = "".join(f"property float {c}\n" for c in ("x", "y", "z", "nx", "ny", "nz"))
    header = f"ply\nformat ascii 1.0\nelement vertex 400\n{props}end_header\n"
    (tmp_path / "n.ply").write_text(header + "\n".join(" ".join(map(str, r)) for r in np.hstack([points, normals])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pc = load_points(tmp_path / "n.ply")
    assert pc.points.shape == (400, 3)
    np.testing.assert_allclose(pc.normals, normals, atol=1e-6)
    trimesh.PointCloud(points).export(tmp_path / "p.ply")
    with pytest.warns(UserWarning, match="estimated"):
        assert within_30_degrees(load_points(tmp_path / "p.ply").normals, normals) >= 0.99


def test_demo_bunny(monkeypatch):
    if importlib.util.find_spec("pymeshfix") is not None:
        pc = load_points(demo_bunny(), samples=20_000)
        assert demo_bunny().name == "StanfordBunny.ply" and pc.points.shape == (20_000, 3)
        agree = np.sum(estimate_normals(pc.points) * pc.normals, axis=1)  # face normals of the scan are outward
        assert np.mean(agree > np.cos(np.radians(30))) > 0.98 and np.mean(agree < 0) < 0.001  # measured 0.994, 5e-5
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert "install the shapes extra: pip install -e '.[shapes]'" in error(demo_bunny)
