"""siren.fields: the bilinear lookup reproduces bilinear fields, the PML stretch equals its formula (and its
derivative and integral), the Gaussians, points, a network on the grid; siren.metrics.relative_l2."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from siren.errors import SirenError
from siren.fields.grid import bilinear, lookup, network_on_grid
from siren.fields.pml import A0, PML_WIDTH, pml_stretch, stretched_coordinate
from siren.fields.sources import check_source, gaussian_pulse, parse_point
from siren.metrics import relative_l2


def _bilinear_field(x, y):
    return 1.5 + 0.3 * x - 0.7 * y + 0.4 * x * y


def test_lookup_reproduces_a_bilinear_field_x_first():
    """On a 4 x 7 grid (axis 0 = x) f = a + b x + c y + d x y is bilinear in each cell, so both readers are exact,
    nodes and corners included."""
    xs, ys = np.linspace(-1, 1, 4), np.linspace(-1, 1, 7)
    table = _bilinear_field(xs[:, None], ys[None, :])
    g = torch.Generator().manual_seed(0)
    xy = torch.cat([torch.rand(200, 2, generator=g, dtype=torch.float64) * 2 - 1,
                    torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [xs[1], ys[5]]], dtype=torch.float64)])
    expect = _bilinear_field(xy[:, 0], xy[:, 1])
    got = lookup(torch.from_numpy(table), xy)
    assert got.shape == (len(xy),) and got.dtype == torch.float64
    assert torch.allclose(got, expect, rtol=0, atol=1e-12)
    assert np.allclose(bilinear(table, xy[:, 0].numpy(), xy[:, 1].numpy()), expect.numpy(), rtol=0, atol=1e-12)


def test_pml_stretch_equals_its_formula_in_numpy_and_torch():
    t = np.linspace(-1, 1, 401)
    d = np.maximum(np.abs(t) - (1 - PML_WIDTH), 0)
    e = 1 - 1j * A0 * (d / PML_WIDTH) ** 2
    de = -2j * A0 * d * np.sign(t) / PML_WIDTH ** 2
    got_e, got_dinv = pml_stretch(t)
    assert np.allclose(got_e, e, rtol=1e-15, atol=0) and np.allclose(got_dinv, -de / e ** 2, rtol=1e-14, atol=0)
    assert np.all(got_e[np.abs(t) <= 1 - PML_WIDTH] == 1)                     # no stretch off the PML
    te, tdinv = pml_stretch(torch.from_numpy(t))
    assert torch.equal(te, torch.from_numpy(got_e))                        # complex division: to round-off
    assert torch.allclose(tdinv, torch.from_numpy(got_dinv), rtol=1e-14, atol=0)
    wide, _ = pml_stretch(t, width=0.25, a0=2.0)
    assert wide[-1] == 1 - 2j and np.all(wide[np.abs(t) <= 0.75] == 1)


def test_pml_stretch_derivative_and_coordinate_by_differences():
    """d(1/e)/dt against autograd of 1/e, and d t~/dt = e for the complex coordinate (central differences)."""
    t = torch.linspace(-0.99, 0.99, 199, dtype=torch.float64, requires_grad=True)
    e, dinv = pml_stretch(t)
    inv = 1 / e
    re, = torch.autograd.grad(inv.real.sum(), t, retain_graph=True)
    im, = torch.autograd.grad(inv.imag.sum(), t)
    assert torch.allclose(dinv.detach(), torch.complex(re, im), rtol=1e-12, atol=1e-12)
    s, h = t.detach().numpy(), 1e-6
    slope = (stretched_coordinate(s + h) - stretched_coordinate(s - h)) / (2 * h)
    assert np.allclose(slope, e.detach().numpy(), rtol=0, atol=1e-8)
    inside = np.abs(s) <= 1 - PML_WIDTH
    assert np.array_equal(stretched_coordinate(s)[inside], s[inside])


def test_gaussian_pulse_and_points():
    u0 = gaussian_pulse((0.2, -0.1), 0.1)
    xy = np.array([[0.2, -0.1], [0.3, -0.1], [0.2, 0.1]])
    assert np.allclose(u0(xy)[:, 0], [1, np.exp(-0.5), np.exp(-2)])
    assert torch.equal(u0(torch.from_numpy(xy)), torch.from_numpy(u0(xy)))
    assert parse_point("0.25,-1") == (0.25, -1.0)
    with pytest.raises(SirenError, match="--receiver"):
        parse_point("0.1", "--receiver")
    with pytest.raises(SirenError, match="outside"):
        check_source((0.0, 1.5))


def test_network_on_grid_is_x_first():
    class Plane(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.tensor([[1.0], [2.0]], dtype=torch.float64))

        def forward(self, xy):
            return xy @ self.w

    points = np.array([-0.5, 0.0, 0.25])
    X, Y, xy, out = network_on_grid(Plane(), points)
    assert X.shape == Y.shape == (3, 3) and xy.shape == (9, 2) and out.shape == (9, 1)
    assert np.allclose(out[:, 0].numpy().reshape(3, 3), points[:, None] + 2 * points[None, :])


def test_relative_l2_formula():
    truth = np.array([[3.0, 0.0], [0.0, 4j]])
    assert relative_l2(truth + np.array([[0.5, 0], [0, 0]]), truth) == pytest.approx(0.1)
    assert relative_l2(np.full(3, 2.0), np.zeros(3)) == pytest.approx(np.sqrt(12))     # truth 0: absolute
    assert relative_l2(truth, truth) == 0.0
