"""The examples' independent references against closed forms and finite differences."""
import numpy as np

from siren.solvers.burgers import burgers_cole_hopf
from siren.solvers.bvp import reaction_diffusion_fd
from siren.solvers.heat import heat_fd


def test_cole_hopf_starts_from_the_initial_condition_and_solves_burgers():
    nu = 0.01 / np.pi
    x = np.linspace(-1, 1, 11)
    assert np.allclose(burgers_cole_hopf(x, np.zeros(11), nu), -np.sin(np.pi * x))
    assert np.allclose(burgers_cole_hopf(-x, np.full(11, 0.7), nu), -burgers_cole_hopf(x, np.full(11, 0.7), nu))
    xs, t, h = np.array([-0.6, -0.3, 0.4]), np.full(3, 0.2), 1e-4             # smooth points (no shock yet)
    u = lambda a, b: burgers_cole_hopf(a, b, nu)  # noqa: E731
    ut = (u(xs, t + h) - u(xs, t - h)) / (2 * h)
    ux = (u(xs + h, t) - u(xs - h, t)) / (2 * h)
    uxx = (u(xs + h, t) - 2 * u(xs, t) + u(xs - h, t)) / h ** 2
    assert np.abs(ut + u(xs, t) * ux - nu * uxx).max() < 1e-4


def test_heat_on_the_square_matches_its_fourier_series():
    a, t, p = 0.25, 0.3, np.array([[0.2, -0.4, 0.3], [0.0, 0.0, 0.3]])
    u = heat_fd(lambda x, y: np.ones_like(x, bool), a=a, t1=0.5, n=65)(p)
    series = 0.0
    for m in range(1, 200, 2):
        for n in range(1, 200, 2):
            lam = (np.pi * m / 2) ** 2 + (np.pi * n / 2) ** 2
            coef = 16 / (np.pi ** 2 * m * n) * (-1) ** ((m + n) // 2 - 1)
            series = series + coef * (1 - np.exp(-a * lam * t)) / (a * lam) * np.cos(m * np.pi * p[:, 0] / 2) * \
                np.cos(n * np.pi * p[:, 1] / 2)
    assert np.abs(u - series).max() < 2e-3 * np.abs(series).max()


def test_two_point_bvp_matches_the_constant_coefficient_solution():
    lam, k = 0.01, 0.5
    u = reaction_diffusion_fd(lam, lambda x: np.full_like(x, k), lambda x: np.sin(2 * np.pi * x))
    x = np.linspace(0, 1, 21)
    assert np.abs(u(x) + np.sin(2 * np.pi * x) / (lam * (2 * np.pi) ** 2 + k)).max() < 1e-5
