"""Point clouds at scale: chunked normal estimation against analytic normals, its memory, and the fast readers
(.npy, vectorised .xyz, binary PLY) against their sources."""
import tracemalloc
import warnings

import numpy as np
import pytest

from siren.data import pointcloud
from siren.data.pointcloud import estimate_normals, load_points
from siren.errors import SirenError
from siren.shapes import Sphere, Torus, sample_surface

SHAPES = [Sphere(0.5), Torus(0.5, 0.2)]


def agreement(estimated, truth) -> tuple[float, float]:
    """(mean |cos|, fraction pointing the same way) of estimated vs true unit normals."""
    dot = np.sum(estimated * truth, axis=1)
    return float(np.mean(np.abs(dot))), float(np.mean(dot > 0))


def error(path_or_call, *args, **kwargs) -> str:
    with pytest.raises(SirenError) as e:
        path_or_call(*args, **kwargs) if callable(path_or_call) else load_points(path_or_call)
    assert "\n" not in str(e.value)
    return str(e.value)


def write_ply(path, rows, names=("x", "y", "z")):
    """A binary little-endian vertex-only PLY of float32 properties, written by hand."""
    props = "".join(f"property float {c}\n" for c in names)
    with open(path, "wb") as f:
        f.write(f"ply\nformat binary_little_endian 1.0\nelement vertex {len(rows)}\n{props}end_header\n".encode())
        np.asarray(rows, dtype="<f4").tofile(f)
    return path


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orient_points", [None, 600])  # the spanning tree over all points, or over a subset
def test_normals_match_the_analytic_ones(shape, orient_points):
    points, normals = sample_surface(shape, 4000, seed=3)
    kwargs = {} if orient_points is None else {"orient_points": orient_points}
    estimated = estimate_normals(points, **kwargs)
    assert estimated.dtype == np.float32 and estimated.shape == (4000, 3)
    np.testing.assert_allclose(np.linalg.norm(estimated, axis=1), 1, atol=1e-5)
    cos, outward = agreement(estimated, normals)
    assert cos > 0.99 and outward > 0.99  # measured: 0.999-0.9999, 1.0


@pytest.mark.parametrize("orient_points", [None, 600])
def test_chunks_do_not_change_the_normals(orient_points):
    points, _ = sample_surface(Torus(0.5, 0.2), 3000, seed=4)
    kwargs = {} if orient_points is None else {"orient_points": orient_points}
    whole = estimate_normals(points, **kwargs)
    for chunk in (1000, 257):
        np.testing.assert_array_equal(estimate_normals(points, chunk=chunk, **kwargs), whole)


def test_each_component_is_oriented_from_its_own_seed():
    a, na = sample_surface(Sphere(0.3), 2000, seed=5)
    b, nb = sample_surface(Torus(0.3, 0.1), 2000, seed=6)
    points, normals = np.vstack([a - [0.6, 0, 0], b + [0.6, 0, 0]]), np.vstack([na, nb])  # two far apart shapes
    for orient_points in (pointcloud.ORIENT_POINTS, 700):
        cos, outward = agreement(estimate_normals(points, orient_points=orient_points), normals)
        assert cos > 0.99 and outward > 0.99


def test_memory_follows_the_points_not_their_neighbours():
    points, normals = sample_surface(Sphere(0.5), 100_000, seed=7)
    tracemalloc.start()
    try:
        estimated = estimate_normals(points, k=16, chunk=4096, orient_points=8192)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert agreement(estimated, normals)[1] > 0.99
    assert peak < 16e6, peak  # (N, k + 1, 3) float64 neighbourhoods alone would be 41 MB; measured ~7 MB


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npy_round_trip(tmp_path, dtype):
    points, normals = sample_surface(Sphere(2.0), 600, seed=8)
    points = points * [1.0, 0.5, 0.25] + [10.0, -3.0, 7.0]
    np.save(tmp_path / "p.npy", points.astype(dtype))
    np.save(tmp_path / "pn.npy", np.hstack([points, normals]).astype(dtype))
    with pytest.warns(UserWarning, match="no normals, estimated"):
        pc = load_points(tmp_path / "p.npy")
    atol = 1e-4 if dtype == np.float32 else 1e-5
    np.testing.assert_allclose(pc.to_input_units(pc.points), points.astype(dtype), atol=atol)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # normals given: none estimated
        pc = load_points(tmp_path / "pn.npy")
    np.testing.assert_allclose(pc.to_input_units(pc.points), points.astype(dtype), atol=atol)
    np.testing.assert_allclose(pc.normals, normals, atol=1e-6)
    np.save(tmp_path / "grid.npy", np.rint(points * 10).astype(np.int32))  # integer coordinates are numbers too
    assert load_points(tmp_path / "grid.npy", estimate=False).points.shape == (600, 3)


def test_bad_npy_files(tmp_path):
    np.save(tmp_path / "four.npy", np.zeros((20, 4)))
    assert error(tmp_path / "four.npy") == ("four.npy holds a float64 array of shape (20, 4), expected an (N, 3) "
                                            "or (N, 6) float array of x y z [nx ny nz]")
    np.save(tmp_path / "flat.npy", np.zeros(60))
    assert "flat.npy holds a float64 array of shape (60,), expected an (N, 3)" in error(tmp_path / "flat.npy")
    np.save(tmp_path / "complex.npy", np.zeros((20, 3), np.complex64))
    assert "complex.npy holds a complex64 array" in error(tmp_path / "complex.npy")
    np.save(tmp_path / "objects.npy", np.array([[1, "a", None]] * 20, dtype=object), allow_pickle=True)
    assert "cannot read objects.npy as a .npy array" in error(tmp_path / "objects.npy")  # pickles are not loaded
    (tmp_path / "text.npy").write_text("1 2 3\n")
    assert "cannot read text.npy as a .npy array" in error(tmp_path / "text.npy")
    assert ".npy" in error(tmp_path / "x.pcd")  # named among the formats


def test_xyz_round_trip_through_the_vectorised_parser(tmp_path, monkeypatch):
    points, normals = sample_surface(Torus(2.0, 0.5), 3000, seed=9)
    points = points + [5.0, 0.0, -1.0]
    rows = [f"{x:.9g}, {y:.9g},{z:.9g} {a:.9g}\t{b:.9g} {c:.9g}  # point {i}"
            for i, (x, y, z, a, b, c) in enumerate(np.hstack([points, normals]))]
    rows[10:10] = ["", "# a comment line", "   "]
    (tmp_path / "t.xyz").write_text("# header\n" + "\n".join(rows) + "\n\n")
    np.savetxt(tmp_path / "p.txt", points, fmt="%.9g")
    monkeypatch.setattr(pointcloud, "_read_xyz_lines", lambda path: pytest.fail(f"{path.name}: fell back"))
    pc = load_points(tmp_path / "t.xyz")
    np.testing.assert_allclose(pc.to_input_units(pc.points), points, atol=1e-6)
    np.testing.assert_allclose(pc.normals, normals, atol=1e-6)
    plain = load_points(tmp_path / "p.txt", estimate=False)
    np.testing.assert_allclose(plain.to_input_units(plain.points), points, atol=1e-6)
    monkeypatch.undo()
    for name in ("t.xyz", "p.txt"):  # the same values as the line parser's
        fast, slow = pointcloud._read_xyz(tmp_path / name), pointcloud._read_xyz_lines(tmp_path / name)
        np.testing.assert_array_equal(fast[0], slow[0])
        assert (fast[1] is None) == (slow[1] is None)


def test_xyz_errors_still_name_the_line(tmp_path):
    good = "\n".join(f"{i} {i % 3} {i % 5}" for i in range(5000))
    (tmp_path / "bad.xyz").write_text("# scan\n" + good + "\n1 2 three\n" + good + "\n")
    assert error(tmp_path / "bad.xyz") == "bad.xyz line 5002: expected 3 or 6 numbers, got '1 2 three'"
    (tmp_path / "nan.xyz").write_text(good + "\n\n1 2 inf\n")
    assert "nan.xyz line 5002: NaN or infinite value (1 such lines)" in error(tmp_path / "nan.xyz")
    (tmp_path / "wide.xyz").write_text(good.replace("4999 1 4", "4999 1 4 0 0 1"))
    assert "wide.xyz line 5000: expected 3 numbers like line 1, got 6" in error(tmp_path / "wide.xyz")
    (tmp_path / "five.xyz").write_text("1 2 3 4 5\n" * 20)
    assert "five.xyz line 1: expected 3 or 6 numbers" in error(tmp_path / "five.xyz")
    (tmp_path / "empty.xyz").write_text("# nothing\n\n")
    assert "0 points, need at least 10" in error(tmp_path / "empty.xyz")


def test_binary_ply_round_trip(tmp_path):
    points, normals = sample_surface(Sphere(3.0), 2000, seed=10)
    points = (points + [1.0, 2.0, 3.0]).astype(np.float32)
    with pytest.warns(UserWarning, match="no normals, estimated"):
        pc = load_points(write_ply(tmp_path / "p.ply", points))
    np.testing.assert_allclose(pc.to_input_units(pc.points), points, atol=1e-5)
    assert agreement(pc.normals, normals)[1] > 0.99
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pc = load_points(write_ply(tmp_path / "pn.ply", np.hstack([points, normals]),
                                   ("x", "y", "z", "nx", "ny", "nz")))
    np.testing.assert_allclose(pc.to_input_units(pc.points), points, atol=1e-5)
    np.testing.assert_allclose(pc.normals, normals, atol=1e-6)
