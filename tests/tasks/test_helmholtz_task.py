"""siren.tasks.helmholtz: the PML operator against autograd of its divergence form, the background field's
derivatives against finite differences, the forcing of the scattered formulation, outputs and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from siren.cli import main
from siren.fields.pml import pml_operator, pml_stretch
from siren.fields.sources import SIGMA2
from siren.solvers import background_field, helmholtz_fd
from siren.solvers.helmholtz import _green_gaussian
from siren.tasks.helmholtz import HelmholtzTask, forcing


def test_pml_operator_equals_the_divergence_form_by_autograd():
    """L u = d/dx(e_y/e_x u_x) + d/dy(e_x/e_y u_y) + e_x e_y m k^2 u for a smooth complex u, at points inside and
    inside the PML, against autograd of the divergence form itself."""
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(200, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    y = (torch.rand(200, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    k, m = 7.0, 1.3 + 0.2 * torch.rand(200, generator=g, dtype=torch.float64)

    def field(x, y):
        return torch.exp(1j * (3 * x - 2 * y)) * (1 + x * y ** 2)

    def d(f, v):
        re, = torch.autograd.grad(f.real.sum(), v, create_graph=True)
        im, = torch.autograd.grad(f.imag.sum(), v, create_graph=True)
        return torch.complex(re, im)

    u = field(x, y)
    ux, uy = d(u, x), d(u, y)
    uxx, uyy = d(ux, x), d(uy, y)
    ex, ey = pml_stretch(x)[0], pml_stretch(y)[0]
    reference = d(ey / ex * ux, x) + d(ex / ey * uy, y) + ex * ey * m * k ** 2 * u
    got = pml_operator(u, ux, uy, uxx, uyy, x, y, m, k)
    assert torch.allclose(got, reference, rtol=1e-10, atol=1e-9)
    assert (x.detach().abs() > 0.5).any()                 # some points are in the PML


def test_background_solves_the_pml_equation_in_a_uniform_medium():
    """u0 continued into the PML: its PML residual L u0 (derivatives by central differences) vanishes away from
    the source, inside and in the PML, and it equals the FD solver's field over the whole square."""
    k, source, h = 12.0, (0.1, -0.05), 1e-4
    g = np.random.default_rng(0)
    x, y = g.uniform(-0.98, 0.98, 300), g.uniform(-0.98, 0.98, 300)
    keep = np.hypot(x - source[0], y - source[1]) > 0.1
    x, y = x[keep], y[keep]
    f = lambda a, b: background_field(a, b, k, source)  # noqa: E731
    u = f(x, y)
    ux, uy = (f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h)
    uxx, uyy = (f(x + h, y) - 2 * u + f(x - h, y)) / h ** 2, (f(x, y + h) - 2 * u + f(x, y - h)) / h ** 2
    t = lambda v: torch.from_numpy(v)  # noqa: E731
    residual = pml_operator(t(u), t(ux), t(uy), t(uxx), t(uyy), t(x), t(y), torch.ones(len(x), dtype=torch.float64), k)
    scale = k ** 2 * np.abs(u).mean()
    assert (np.abs(np.maximum(np.abs(x), np.abs(y))) > 0.5).sum() > 50     # many points in the PML
    assert residual.abs().max() < 1e-4 * scale
    n = 161
    xs, us = helmholtz_fd(n, k, 1.0, source)[::2]
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    u0 = background_field(X.ravel(), Y.ravel(), k, source).reshape(n, n)
    assert np.linalg.norm(u0 - us) < 0.02 * np.linalg.norm(us)
    inner = np.maximum(np.abs(X), np.abs(Y)) <= 0.5
    assert np.allclose(u0[inner], _green_gaussian(np.hypot(X - source[0], Y - source[1]), k, SIGMA2)[inner])


def test_scattered_forcing_vanishes_in_a_uniform_medium_and_scales_with_the_contrast():
    n = 64
    uniform = HelmholtzTask(10.0, np.ones((n, n)), points=64)
    xy = torch.tensor([[0.2, 0.1], [-0.3, 0.4], [0.8, 0.0]])
    x, y = xy[:, 0].double().numpy(), xy[:, 1].double().numpy()
    known = forcing(x, y, uniform.m_at(xy).double().numpy(), 10.0, (0.0, 0.0))
    assert np.abs(known).max() < 1e-12                # m = 1 everywhere: nothing forced, PML included
    slow = HelmholtzTask(10.0, np.full((n, n), 0.5), points=64)            # m = 4 everywhere
    u0 = background_field(x[:2], y[:2], 10.0, (0.0, 0.0))
    assert np.allclose(forcing(x, y, slow.m_at(xy).double().numpy(), 10.0, (0.0, 0.0))[:2], 3 * 100 * u0)


def test_cli_writes_the_wavefield_and_scores_against_the_solver(tmp_path):
    out = tmp_path / "run"
    assert main(["helmholtz", "--k", "6", "--n", "48", "--batch", "256", "--steps", "30", "--hidden-features",
                 "32", "--hidden-layers", "2", "--log-every", "10", "--no-progress", "--out", str(out)]) == 0
    f = np.load(out / "wavefield.npz")
    assert f["u"].shape == f["u_solver"].shape == f["m"].shape == (48, 48) and np.iscomplexobj(f["u"])
    assert float(f["k"]) == 6 and np.allclose(f["x"], np.linspace(-1, 1, 48))
    inner = np.abs(f["x"]) <= 0.5
    err = f["u"][np.ix_(inner, inner)] - f["u_solver"][np.ix_(inner, inner)]
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["rel_l2"] == pytest.approx(np.linalg.norm(err) / np.linalg.norm(f["u_solver"][np.ix_(inner, inner)]))


def test_bad_inputs_are_one_line_errors(tmp_path, cli_error):
    o = ["--out", str(tmp_path / "o")]
    assert "--k" in cli_error(["helmholtz", "--k", "-1", *o])
    assert "PML" in cli_error(["helmholtz", "--source", "0.7,0", *o])
    assert "--source" in cli_error(["helmholtz", "--source", "zero", *o])


@pytest.mark.parametrize("command", ["helmholtz", "fwi"])
def test_velocity_files_with_nans_or_the_wrong_shape_are_one_line_errors(tmp_path, cli_error, command):
    o = ["--out", str(tmp_path / "o")]
    np.save(tmp_path / "nan.npy", np.full((8, 8), np.nan))
    assert "non-finite" in cli_error([command, "--velocity", str(tmp_path / "nan.npy"), *o])
    np.save(tmp_path / "flat.npy", np.ones(8))
    assert "2-D" in cli_error([command, "--velocity", str(tmp_path / "flat.npy"), *o])
