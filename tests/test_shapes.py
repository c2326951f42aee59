import numpy as np
import pytest
import torch

from siren.shapes import Sphere, Torus, sample_surface


def test_exact_distances_numpy_and_torch():
    points = np.array([[0, 0, 0], [1, 0, 0], [0.5, 0, 0], [0.5, 0, 1], [0, 0, 0.3]])
    cases = {Sphere(0.5): [-0.5, 0.5, 0.0, np.sqrt(1.25) - 0.5, -0.2],
             Torus(0.5, 0.2): [0.3, 0.3, -0.2, 0.8, np.sqrt(0.34) - 0.2]}
    for shape, expected in cases.items():
        np.testing.assert_allclose(shape(points), expected, atol=1e-12)
        out = shape(torch.tensor(points))
        assert isinstance(out, torch.Tensor) and out.shape == (5,)
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("shape", [Sphere(0.6), Torus(0.5, 0.2)])
def test_samples_lie_on_the_surface_with_the_gradient_as_normal(shape):
    points, normals = sample_surface(shape, 2000, seed=3)
    assert points.shape == normals.shape == (2000, 3)
    np.testing.assert_allclose(shape(points), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-12)
    eps = 1e-6  # outward normal = grad sdf (central differences)
    grad = np.stack([(shape(points + eps * e) - shape(points - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(grad, normals, atol=1e-6)
    np.testing.assert_array_equal(sample_surface(shape, 2000, seed=3)[0], points)


def test_torus_samples_are_uniform_by_area():
    R, r = 0.5, 0.2
    points, normals = sample_surface(Torus(R, r), 40_000, seed=0)
    # cos v = normal . (unit vector away from the z axis); the outer half (cos v > 0) holds the area fraction
    # int (R + r cos v) dv over |v| < pi/2 / int over all v = (pi R + 2 r) / (2 pi R)
    cos_v = np.einsum("ij,ij->i", normals[:, :2], points[:, :2]) / np.linalg.norm(points[:, :2], axis=1)
    assert abs(np.mean(cos_v > 0) - (np.pi * R + 2 * r) / (2 * np.pi * R)) < 0.01  # binomial std 0.0024
