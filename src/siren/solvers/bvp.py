"""Two-point boundary value problems lam u'' - k(x) u = f(x) on [a, b], u(a) = u(b) = 0: second-order finite
differences on n points with endpoints (a tridiagonal solve), interpolated linearly."""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

__all__ = ["reaction_diffusion_fd"]


def reaction_diffusion_fd(lam: float, k, f, a: float = 0.0, b: float = 1.0, n: int = 4001):
    """k, f: functions of x (M,) -> (M,). Returns u(x) -> values at x (any shape)."""
    x = np.linspace(a, b, n)
    h = x[1] - x[0]
    xi = x[1:-1]
    ab = np.zeros((3, n - 2))
    ab[0, 1:] = ab[2, :-1] = lam / h ** 2
    ab[1] = -2 * lam / h ** 2 - k(xi)
    u = np.zeros(n)
    u[1:-1] = solve_banded((1, 1), ab, f(xi))
    return lambda p: np.interp(np.asarray(p, float), x, u)
