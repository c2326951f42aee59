"""Time-domain reference solver: u_tt = c(x)^2 (u_xx + u_yy) on [-1, 1]^2, leapfrog FDTD.

Initial data: u(0, x) = exp(-|x - x0|^2 / (2 sigma^2)) (peak 1, sigma a standard deviation; or any u0 given),
u_t(0, x) = 0.
Boundary: u = 0 on the border of [-1, 1]^2 (Dirichlet, reflecting; the initial Gaussian is set to 0 there). With
c = 1, T = 0.5 and a centred source of sigma = 0.1, the front (radius ~ T + 3 sigma = 0.8) stays off the border.

Scheme: u^{j+1} = 2 u^j - u^{j-1} + dt^2 c^2 Lap_h u^j with the 5-point Laplacian Lap_h, and the first step from
Taylor (u_t = 0): u^1 = u^0 + dt^2 / 2 c^2 Lap_h u^0. Second order in h and dt; stable for dt <= h / (c_max sqrt 2),
and dt = T / N with N the least number of steps that gives dt <= cfl h / (c_max sqrt 2).
Frames: N is raised (at most doubled) until every requested time is a whole number of steps, as for evenly spaced
times; when no such N exists, a frame is the linear interpolation of the two steps around it (error <= dt^2 / 8
max|u_tt|, second order too). Output axis order (t, x, y); grid linspace(-1, 1, n) per axis.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import SirenError
from ..fields.grid import FieldLike, axis, mesh, on_grid, resample
from ..fields.sources import check_source, gaussian_pulse
from ..fields.speed import check_speed


def _laplacian(u: np.ndarray, h2: float) -> np.ndarray:
    """5-point Laplacian at interior nodes, 0 on the border."""
    out = np.zeros_like(u)
    out[1:-1, 1:-1] = (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]) / h2
    return out


def _check_times(times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or t.min() < 0 or t.max() <= 0:
        raise SirenError("times must be a non-empty 1-D list of finite times >= 0 with a positive maximum T")
    return t


def _step_count(t: np.ndarray, dt_max: float) -> int:
    """Least N >= T / dt_max (up to 2x that) putting every time on a step; else the least N."""
    T, n0 = t.max(), int(np.ceil(t.max() / dt_max))
    for n in range(n0, 2 * n0 + 1):
        s = t * n / T
        if np.all(np.abs(s - np.round(s)) <= 1e-9 * n):
            return n
    return n0


def wave_solve(u0: np.ndarray, times, speed: float | np.ndarray = 1.0, cfl: float = 0.5,
               stride: int = 1) -> np.ndarray:
    """Leapfrog from displacement u0 (n, n) on the grid linspace(-1, 1, n)^2 with u_t(0) = 0 and u = 0 on the
    border (u0's border is ignored). speed: scalar or (n, n) array, c in [0.1, 10]. Returns the frames at `times`
    on every stride-th node per axis: u (len(times), (n - 1) // stride + 1, ...) float64."""
    t = _check_times(times)
    u0 = np.array(u0, float)
    if u0.ndim != 2 or u0.shape[0] != u0.shape[1]:
        raise SirenError(f"initial displacement u0 has shape {u0.shape}: it must be a square (n, n) grid")
    if not 0 < cfl <= 1:
        raise SirenError(f"cfl={cfl} must be in (0, 1]: leapfrog is unstable beyond dt = h / (c_max sqrt 2)")
    c = check_speed(np.broadcast_to(np.asarray(speed, float), u0.shape))
    x = axis(u0.shape[0])
    h = x[1] - x[0]
    steps = _step_count(t, cfl * h / (c.max() * np.sqrt(2)))
    dt = t.max() / steps
    s = t / dt
    s = np.where(np.abs(s - np.round(s)) <= 1e-9 * steps, np.round(s), s)
    base = np.minimum(np.floor(s).astype(int), steps - 1)  # frame i lies in [base, base + 1] steps
    weight = s - base
    c2dt2 = (c * dt) ** 2
    u0[[0, -1], :] = 0.0
    u0[:, [0, -1]] = 0.0
    prev, cur = u0, u0 + 0.5 * c2dt2 * _laplacian(u0, h * h)
    out = np.empty((t.size,) + u0[::stride, ::stride].shape)
    for j in range(steps):
        for i in np.flatnonzero(base == j):
            out[i] = (prev + weight[i] * (cur - prev))[::stride, ::stride]
        if j + 1 < steps:
            prev, cur = cur, 2 * cur - prev + c2dt2 * _laplacian(cur, h * h)
    return out


def wave_fdtd(n: int, times, speed: FieldLike = 1.0, source=(0.0, 0.0), sigma: float = 0.1, cfl: float = 0.5,
              refine: int = 1, initial: Callable | None = None):
    """FDTD field of the Gaussian initial displacement: returns (x, y, u), x = y = linspace(-1, 1, n), u of
    shape (len(times), n, n) float64 at the requested times, axis order (t, x, y).

    speed: c, a scalar, an (n, n) array on the grid (bilinearly interpolated when refined), or a callable
    c(X, Y) (evaluated on the refined grid; e.g. lambda X, Y: velocity_preset("square", X, Y)); c in [0.1, 10].
    refine: run on refine * (n - 1) + 1 points per axis and return every refine-th node (error / refine^2).
    initial: another initial displacement u0(xy), points (..., 2) -> (..., 1) (evaluated on the refined grid), in
    place of the Gaussian of `source` and `sigma` (`siren.fields.sources.gaussian_pulse`).
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise SirenError(f"sigma={sigma} must be positive: it is the initial Gaussian's standard deviation")
    if int(refine) != refine or refine < 1:
        raise SirenError(f"refine={refine} must be an integer >= 1")
    refine = int(refine)
    x0, y0 = check_source(source)
    x, X, Y = mesh(n)
    _, Xf, Yf = mesh(refine * (n - 1) + 1)
    if callable(speed):
        c = on_grid(speed, Xf, Yf, "speed c")
    else:
        c = on_grid(speed, X, Y, "speed c")
        c = resample(c, Xf.shape[0]) if refine > 1 else c
    u0 = np.asarray((initial or gaussian_pulse((x0, y0), sigma))(np.stack([Xf, Yf], -1)))[..., 0]
    return x, x.copy(), wave_solve(u0, times, c, cfl, stride=refine)
