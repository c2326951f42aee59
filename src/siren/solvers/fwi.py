"""Frequency-domain full-waveform inversion (FWI) with the FD Helmholtz solver: geometry, data and the classical
adjoint-state baseline of `siren fwi`.

Forward model (the conventions of `siren.solvers.helmholtz`): for source j, A(m) u_j = e_x e_y f_j on the grid
linspace(-1, 1, n)^2 ([ix, iy], u = 0 on the border), A the PML operator of `helmholtz_matrix` (complex symmetric),
f_j the Gaussian of variance 1e-4 and mass `amplitude` at source j. Receiver data d_j = P u_j, P the bilinear
interpolation from grid nodes to the receivers (R, (n-2)^2).

Geometry (the reference code's, `reference_geometry`): S sources evenly spaced on x in [-0.347059, 0.347059] at
y = -0.347059; R receivers over three lines, R // 3 each (the first R % 3 lines one more): top y = 0.401961 with x
in [-0.347059, 0.347059], left x = -0.401961 and right x = +0.401961 with y in [-0.252941, 0.401961]. A line of one
point puts it at the line's midpoint. The reference's .mat data (`read_receiver_data`) hold this geometry for
S = 5, R = 30, at k = 20 and source amplitude 1 + 1j (docs/fwi.md: which velocity model its data fit); `siren fwi
--data` treats the true velocity as unknown.

Baseline (`AdjointFWI`): minimise over the squared slowness m (m = 1/c^2) at the nodes of the box |x|, |y| <= 0.75
(m = 1 elsewhere, as the reference code does)

    J(m) = 1/2 sum_j |P u_j(m) - d_j|^2 / sum_j |d_j|^2  +  alpha/2 int_box |grad m|^2,

the smoothness term discretised as alpha/2 sum over neighbouring box nodes of (m_a - m_b)^2 (the h^2 of the
integral cancels the 1/h^2 of the differences). Gradient by the adjoint method with one sparse LU of A per
evaluation: A w_j = P^T conj(r_j), r_j = P u_j - d_j (A = A^T), and dJ/dm_i = -Re sum_j w_ij e_x e_y k^2 u_ij /
sum |d|^2 (only the diagonal of A depends on m). Optimiser: scipy L-BFGS-B from m = 1 with bounds c in [0.1, 10],
i.e. m in [0.01, 100] (docs/fwi.md: how it does on the circle model).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import io, optimize, sparse
from scipy.sparse.linalg import splu

from ..errors import SirenError
from ..fields.grid import mesh
from ..fields.sources import SIGMA2, gaussian_source
from ..fields.speed import C_MAX, C_MIN
from .helmholtz import helmholtz_matrix

SOURCE_X, SOURCE_Y = 0.347059, -0.347059          # sources on x in [-SOURCE_X, SOURCE_X] at y = SOURCE_Y
TOP_Y, SIDE_X, SIDE_Y = 0.401961, 0.401961, (-0.252941, 0.401961)
BOX = 0.75                                         # m is inverted for inside |x|, |y| <= BOX, 1 outside
ALPHA = 1e-4                                       # smoothness weight of the baseline
M_BOUNDS = (C_MAX ** -2, C_MIN ** -2)


def _line(a: float, b: float, count: int) -> np.ndarray:
    return np.linspace(a, b, count) if count > 1 else np.full(count, (a + b) / 2)


def reference_geometry(sources: int = 5, receivers: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(sources (S, 2), receivers (R, 2)) as (x, y) rows, laid out as the module docstring says."""
    if int(sources) != sources or sources < 1 or int(receivers) != receivers or receivers < 1:
        raise SirenError(f"{sources} and --receivers {receivers} must be integers >= 1", field="sources")
    src = np.stack([_line(-SOURCE_X, SOURCE_X, int(sources)), np.full(int(sources), SOURCE_Y)], 1)
    top, left, right = (int(receivers) // 3 + (i < int(receivers) % 3) for i in range(3))
    ys = [_line(*SIDE_Y, c) for c in (left, right)]
    rec = np.concatenate([np.stack([_line(-SOURCE_X, SOURCE_X, top), np.full(top, TOP_Y)], 1),
                          np.stack([np.full(left, -SIDE_X), ys[0]], 1), np.stack([np.full(right, SIDE_X), ys[1]], 1)])
    return src, rec


def check_points(points: np.ndarray, what: str, limit: float = 0.5) -> np.ndarray:
    """points (N, 2) finite and inside the non-PML square [-limit, limit]^2, else SirenError."""
    points = np.asarray(points, float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise SirenError(f"{what} must be an (N, 2) array of (x, y) rows, got shape {points.shape}")
    if not np.all(np.isfinite(points)) or np.abs(points).max() > limit:
        raise SirenError(f"{what} must lie inside the non-PML square [-{limit:g}, {limit:g}]^2 (largest |coordinate| "
                         f"{np.nanmax(np.abs(points)):.3g})")
    return points


def read_receiver_data(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference code's FWI data (scipy.io.loadmat): `source` (S, 2), `receivers` (R, 2), `rec_val` (R, S)
    complex (receiver i, source j; source amplitude 1 + 1j, k = 20) -> (sources, receivers, data), checked."""
    try:
        mat = io.loadmat(path)
    except (OSError, ValueError, TypeError, io.matlab.MatReadError) as e:
        raise SirenError(f"cannot read receiver data {path}: it must be a MATLAB .mat file ({type(e).__name__})") from e
    missing = [key for key in ("source", "receivers", "rec_val") if key not in mat]
    if missing:
        raise SirenError(f"{path} lacks {', '.join(missing)}: it needs source (S, 2), receivers (R, 2) and "
                         f"rec_val (R, S)")
    src, rec = check_points(mat["source"], f"source in {path}"), check_points(mat["receivers"], f"receivers in {path}")
    data = np.asarray(mat["rec_val"])
    if data.shape != (len(rec), len(src)) or not np.all(np.isfinite(data)):
        raise SirenError(f"rec_val in {path} must be finite with shape (R, S) = {(len(rec), len(src))}, got "
                         f"{data.shape}")
    return src, rec, data.astype(complex)


def receiver_matrix(n: int, points: np.ndarray) -> sparse.csr_matrix:
    """P: bilinear interpolation from the interior nodes of linspace(-1, 1, n)^2 (u[1:-1, 1:-1] raveled) to the
    points (R, 2), which must lie at least one cell inside the border -> sparse (R, (n-2)^2)."""
    h = 2.0 / (n - 1)
    t = (np.asarray(points, float) + 1) / h                       # fractional node index per axis
    i0 = np.clip(np.floor(t).astype(int), 1, n - 3)              # cell [i0, i0 + 1] of interior nodes
    w = t - i0
    rows, cols, vals = [], [], []
    for dx in (0, 1):
        for dy in (0, 1):
            rows.append(np.arange(len(t)))
            cols.append((i0[:, 0] + dx - 1) * (n - 2) + i0[:, 1] + dy - 1)
            vals.append(np.abs(1 - dx - w[:, 0]) * np.abs(1 - dy - w[:, 1]))
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(t), (n - 2) ** 2))


def source_rhs(n: int, sources: np.ndarray, exey: np.ndarray, amplitude: complex = 1.0) -> np.ndarray:
    """Right sides e_x e_y f_j at the interior nodes -> ((n-2)^2, S) complex."""
    _, X, Y = mesh(n)
    return np.stack([(exey * gaussian_source(X, Y, s, SIGMA2, amplitude))[1:-1, 1:-1].ravel() for s in sources], 1)


def interior_to_grid(v: np.ndarray, n: int) -> np.ndarray:
    """((n-2)^2, S) interior unknowns -> (S, n, n) fields with u = 0 on the border."""
    u = np.zeros((v.shape[1], n, n), complex)
    u[:, 1:-1, 1:-1] = v.T.reshape(-1, n - 2, n - 2)
    return u


def synthesize(k: float, m: np.ndarray, sources: np.ndarray, receivers: np.ndarray, amplitude: complex = 1.0):
    """FD data of the squared slowness m (n, n): (data (R, S) complex, fields u (S, n, n)); one LU for all
    sources."""
    n = m.shape[0]
    A, exey = helmholtz_matrix(k, m)
    v = splu(A).solve(source_rhs(n, sources, exey, amplitude))
    return receiver_matrix(n, receivers) @ v, interior_to_grid(v, n)


class AdjointFWI:
    """The baseline of the module docstring on the grid linspace(-1, 1, n)^2: data (R, S) complex at receivers
    (R, 2) from sources (S, 2) of mass `amplitude`; alpha the smoothness weight. The unknowns theta are m at the
    box nodes (`self.box`, a boolean (n, n) mask), in C order."""

    def __init__(self, n: int, k: float, sources: np.ndarray, receivers: np.ndarray, data: np.ndarray,
                 amplitude: complex = 1.0, alpha: float = ALPHA):
        if int(n) != n or n < 16:
            raise SirenError(f"the inversion grid needs n >= 16 points per axis, got {n}")
        self.n, self.k, self.alpha, self.data = int(n), float(k), float(alpha), np.asarray(data, complex)
        _, X, Y = mesh(self.n)
        self.box = (np.abs(X) <= BOX + 1e-9) & (np.abs(Y) <= BOX + 1e-9)
        _, self.exey = helmholtz_matrix(self.k, np.ones((self.n, self.n)))
        self.rhs = source_rhs(self.n, sources, self.exey, amplitude)
        self.P = receiver_matrix(self.n, receivers)
        self.scale = float(np.sum(np.abs(self.data) ** 2)) or 1.0
        inner = self.box[1:-1, 1:-1].ravel()                       # box nodes among the interior unknowns
        self.dA = (self.exey[1:-1, 1:-1].ravel() * self.k ** 2)[inner]
        self._inner, self._side = inner, int(round(np.sqrt(self.box.sum())))     # the box: side x side nodes

    def model(self, theta: np.ndarray) -> np.ndarray:
        """theta (box nodes,) -> m (n, n), 1 outside the box."""
        m = np.ones((self.n, self.n))
        m[self.box] = theta
        return m

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """(J, dJ/dtheta) of the module docstring; one LU, S forward and S adjoint solves."""
        lu = splu(helmholtz_matrix(self.k, self.model(theta))[0])
        u = lu.solve(self.rhs)                                     # ((n-2)^2, S)
        r = self.P @ u - self.data                                 # (R, S)
        w = lu.solve(np.asarray(self.P.T @ np.conj(r)))           # adjoint fields, A symmetric
        grad = -np.real(np.sum(w[self._inner] * u[self._inner], 1) * self.dA) / self.scale
        t = theta.reshape(self._side, self._side)
        gx, gy = np.diff(t, axis=0), np.diff(t, axis=1)
        reg = np.zeros_like(t)
        reg[:-1] -= gx
        reg[1:] += gx
        reg[:, :-1] -= gy
        reg[:, 1:] += gy
        J = 0.5 * np.sum(np.abs(r) ** 2) / self.scale + 0.5 * self.alpha * (np.sum(gx ** 2) + np.sum(gy ** 2))
        return float(J), grad + self.alpha * reg.ravel()

    def run(self, iters: int = 30, theta0: np.ndarray | None = None) -> tuple[np.ndarray, list[float]]:
        """L-BFGS-B from m = 1 (or theta0) with m in [0.01, 100] for `iters` iterations -> (m (n, n), J per
        evaluation)."""
        if int(iters) != iters or iters < 0:
            raise SirenError(f"must be an integer >= 0, got {iters}", field="baseline_iters")
        theta0 = np.ones(int(self.box.sum())) if theta0 is None else theta0
        trace = []

        def f(theta):
            J, g = self.objective(theta)
            trace.append(J)
            return J, g

        if iters == 0:
            return self.model(theta0), [f(theta0)[0]]
        res = optimize.minimize(f, theta0, jac=True, method="L-BFGS-B", bounds=[M_BOUNDS] * theta0.size,
                                options={"maxiter": int(iters)})
        return self.model(res.x), trace
