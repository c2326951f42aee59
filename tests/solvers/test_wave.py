"""Wave-equation FDTD: convergence against closed forms, heterogeneous energy, frames, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from siren.errors import SirenError
from siren.fields.speed import velocity_preset
from siren.solvers import wave_fdtd, wave_solve


def _standing_wave_errors(times, sizes=(21, 41, 81, 161), a=1, b=2):
    """u = cos(w t) sin(a pi x) sin(b pi y), w = pi sqrt(a^2 + b^2) (c = 1): exact with u = 0 on the border."""
    w = np.pi * np.hypot(a, b)
    errs = []
    for n in sizes:
        x = np.linspace(-1, 1, n)
        u0 = np.outer(np.sin(a * np.pi * x), np.sin(b * np.pi * x))
        u = wave_solve(u0, times)
        exact = np.cos(w * np.asarray(times))[:, None, None] * u0
        errs.append(np.abs(u - exact).max())
    return np.array(errs)


@pytest.mark.parametrize("times", [np.linspace(0, 1, 5), [0.3, 1 / np.sqrt(2)]], ids=["on-steps", "interpolated"])
def test_second_order_convergence_standing_wave(times):
    errs = _standing_wave_errors(times)
    ratios = errs[:-1] / errs[1:]
    assert errs[-1] < 2e-3 and np.all((ratios > 3.2) & (ratios < 5)), (errs, ratios)


def _free_space_gaussian(r, t, sigma):
    """Free-space solution for u(0) = exp(-r^2 / 2 sigma^2), u_t(0) = 0, c = 1, by the Hankel transform:
    u(r, t) = sigma^2 int_0^inf exp(-sigma^2 q^2 / 2) cos(q t) J0(q r) q dq (Gauss-Legendre on q < 12 / sigma)."""
    q, w = np.polynomial.legendre.leggauss(400)
    q, w = (q + 1) * 6 / sigma, w * 6 / sigma
    return sigma**2 * (np.exp(-(sigma * q) ** 2 / 2) * np.cos(q * t) * special.j0(np.multiply.outer(r, q)) * q
                       * w).sum(-1)


def test_gaussian_against_free_space_closed_form_and_refine():
    """T = 0.5, c = 1, centred source: the front stays off the border, so the Dirichlet box is free space.
    refine = 2 must cut the error about 4x (measured on the n = 41 output grid)."""
    errs = []
    for refine in (1, 2, 4):
        x, y, u = wave_fdtd(41, [0.25, 0.5], source=(0.1, 0.0), refine=refine)
        X, Y = np.meshgrid(x, y, indexing="ij")
        exact = np.stack([_free_space_gaussian(np.hypot(X - 0.1, Y), t, 0.1) for t in (0.25, 0.5)])
        errs.append(np.abs(u - exact).max())
    assert errs[-1] < 2e-3 and 3.2 < errs[0] / errs[1] < 5 and 3.2 < errs[1] / errs[2] < 5, errs


def test_frames_and_border():
    x, _, u = wave_fdtd(61, np.linspace(0, 0.5, 6))
    assert u.shape == (6, 61, 61)
    X, Y = np.meshgrid(x, x, indexing="ij")
    u0 = np.exp(-(X**2 + Y**2) / (2 * 0.1**2))
    assert np.allclose(u[0, 1:-1, 1:-1], u0[1:-1, 1:-1], atol=0, rtol=1e-15)
    # the border stays 0; next to it only the Gaussian's tail arrives by T = 0.5: u0 at r = 0.47 is 1.6e-5
    assert np.abs(u[:, [0, -1], :]).max() == 0 and np.abs(u[:, :, [1, -2]]).max() < 5e-5


def test_heterogeneous_energy_conserved():
    """Square model (c = 2 inside |x|, |y| < 0.3), off-centre source, T = 2 with reflections off the walls.
    Frames every 0.004 fall on the steps (dt_max = 0.0044 at n = 81, so dt = 0.004), and leapfrog conserves
    E = sum((u^{j+1} - u^j)^2 / (dt^2 c^2) - u^{j+1} Lap_h u^j) h^2 exactly, the discrete form of
    int(u_t^2 / c^2 + |grad u|^2) (Lap_h written out here)."""
    square = lambda X, Y: velocity_preset("square", X, Y)  # noqa: E731
    dt = 0.004
    x, y, u = wave_fdtd(81, np.arange(501) * dt, speed=square, source=(0.2, -0.1))
    assert np.all(np.isfinite(u))
    X, Y = np.meshgrid(x, y, indexing="ij")
    c, h = square(X, Y), x[1] - x[0]
    lap = np.zeros_like(u)
    lap[:, 1:-1, 1:-1] = (u[:, 2:, 1:-1] + u[:, :-2, 1:-1] + u[:, 1:-1, 2:] + u[:, 1:-1, :-2]
                          - 4 * u[:, 1:-1, 1:-1]) / h**2
    energy = ((np.diff(u, axis=0) / dt) ** 2 / c**2 - u[1:] * lap[:-1]).sum(axis=(1, 2)) * h * h
    assert energy.min() > 0 and energy.max() / energy.min() - 1 < 1e-9, (energy.min(), energy.max())
    _, _, uniform = wave_fdtd(81, [1.0], source=(0.2, -0.1))
    assert np.abs(u[250] - uniform[0]).max() > 0.05  # the inclusion changes the field


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma": 0.0}, "sigma"), ({"times": [-0.1, 0.5]}, "times"), ({"times": [0.0]}, "times"),
    ({"times": []}, "times"), ({"source": (0.0, 1.5)}, "outside"), ({"speed": 0.05}, r"\[0.1, 10"),
    ({"speed": 20.0}, r"\[0.1, 10"), ({"speed": np.nan}, "finite"), ({"speed": np.ones((5, 5))}, "shape"),
    ({"cfl": 1.5}, "cfl"), ({"refine": 0}, "refine"), ({"n": 4}, "n=4")])
def test_bad_input_one_liners(kwargs, match):
    args = {"n": 16, "times": [0.5]} | kwargs
    with pytest.raises(SirenError, match=match) as e:
        wave_fdtd(**args)
    assert "\n" not in str(e.value)
