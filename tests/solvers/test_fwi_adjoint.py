"""siren.solvers.fwi: the reference geometry, the .mat reader, the receiver interpolation, the adjoint gradient
against finite differences, and the baseline inversion on a tiny problem."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import io

from siren.errors import SirenError
from siren.solvers.fwi import AdjointFWI, read_receiver_data, receiver_matrix, reference_geometry, synthesize
from siren.fields.grid import mesh
from siren.fields.speed import velocity_preset

MAT = Path(__file__).parents[1] / "data" / "siren_fwi" / "data_cylinder_5.mat"


def test_reference_geometry_is_that_of_the_reference_data():
    sources, receivers, data = read_receiver_data(MAT)
    src, rec = reference_geometry(5, 30)
    assert np.allclose(src, sources, atol=1e-6) and np.allclose(rec, receivers, atol=1e-6)
    assert data.shape == (30, 5) and np.iscomplexobj(data)
    src, rec = reference_geometry(1, 4)
    assert src.tolist() == [[0.0, -0.347059]] and len(rec) == 4


def test_receiver_matrix_reproduces_bilinear_functions():
    n = 21
    x, X, Y = mesh(n)
    f = (1 + 2 * X - 3 * Y + 0.5 * X * Y)[1:-1, 1:-1].ravel()
    pts = np.array([[0.13, -0.41], [-0.4, 0.402], [0.0, 0.0], [0.77, -0.3]])
    assert np.allclose(receiver_matrix(n, pts) @ f, 1 + 2 * pts[:, 0] - 3 * pts[:, 1] + 0.5 * pts.prod(1))


def test_adjoint_gradient_equals_a_finite_difference_derivative():
    n, k = 40, 8.0
    src, rec = reference_geometry(2, 6)
    _, X, Y = mesh(n)
    data, _ = synthesize(k, velocity_preset("circle", X, Y) ** -2.0, src, rec)
    fwi = AdjointFWI(n, k, src, rec, data, alpha=1e-3)
    rng = np.random.default_rng(0)
    theta = 1 + 0.2 * rng.random(int(fwi.box.sum()))
    v = rng.standard_normal(theta.size)
    _, grad = fwi.objective(theta)
    eps = 1e-5
    fd = (fwi.objective(theta + eps * v)[0] - fwi.objective(theta - eps * v)[0]) / (2 * eps)
    assert fd == pytest.approx(grad @ v, rel=1e-5)


def test_baseline_reduces_the_velocity_error():
    n, k = 48, 10.0
    src, rec = reference_geometry(3, 12)
    _, X, Y = mesh(n)
    c = np.where(X ** 2 + Y ** 2 < 0.2 ** 2, 1.5, 1.0)
    data, _ = synthesize(k, c ** -2.0, src, rec)
    m, trace = AdjointFWI(n, k, src, rec, data).run(15)
    inner = (np.abs(X) <= 0.5) & (np.abs(Y) <= 0.5)
    assert trace[-1] < 0.2 * trace[0]
    assert np.mean((m[inner] ** -0.5 - c[inner]) ** 2) < 0.7 * np.mean((1 - c[inner]) ** 2)
    assert np.all(m[np.abs(X) > 0.76] == 1)


def test_bad_receiver_data_are_one_line_errors(tmp_path):
    sources, receivers, data = read_receiver_data(MAT)
    cases = {"lacks": dict(source=sources, receivers=receivers),
             "shape": dict(source=sources, receivers=receivers, rec_val=data[:, :3]),
             "non-PML": dict(source=sources + [0.9, 0], receivers=receivers, rec_val=data)}
    for expected, arrays in cases.items():
        io.savemat(tmp_path / "bad.mat", arrays)
        with pytest.raises(SirenError, match=expected) as e:
            read_receiver_data(tmp_path / "bad.mat")
        assert "\n" not in str(e.value)
    (tmp_path / "text.mat").write_text("not a mat file")
    with pytest.raises(SirenError, match="MATLAB"):
        read_receiver_data(tmp_path / "text.mat")
    with pytest.raises(SirenError, match="sources 0 and"):
        reference_geometry(0, 30)
