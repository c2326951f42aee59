"""Helmholtz reference solver on [-1, 1]^2 with a PML, and the closed form in a uniform medium (free space, and
continued into the PML: `background_field`).

Equation: (Laplacian + m(x) k^2) u = f, m = 1/c^2 the squared slowness, time dependence u(x) e^{+i w t}.
Source (`siren.fields.sources.gaussian_source`): f = amplitude / (2 pi sigma2) exp(-|x - x0|^2 / (2 sigma2)),
variance sigma2 (1e-4: std 0.01), mass `amplitude`. The reference code and its FWI data use amplitude 1 + 1j; the
paper's text writes -f (see PAPER.md).

Green's function (uniform medium, m = 1): G(r) = (i/4) H0^(2)(k r) solves (Laplacian + k^2) G = +delta (not
-delta: near r = 0, (i/4) H0^(2)(kr) ~ (1 / 2 pi) ln r, whose Laplacian is +delta) and is outgoing for e^{+i w t}
(H0^(2)(kr) ~ e^{-i k r}). So u = G * f, with no extra sign. Its complex conjugate -(i/4) H0^(1)(k r) is the same
Green's function in the e^{-i w t} convention (docs/helmholtz.md: the FD solution against G * f and the other
conventions).

PML (`siren.fields.pml`) of width L (0.5) along the border: d = distance into the PML along an axis (0 inside),
s(d) = k a0 (d/L)^2, e = 1 - i s / k = 1 - i a0 (d/L)^2 (independent of k). In the PML the equation is
    d/dx(e_y/e_x du/dx) + d/dy(e_x/e_y du/dy) + e_x e_y m k^2 u = e_x e_y f,
i.e. x -> x - (i/k) int s: the outgoing wave e^{-i k x} becomes e^{-i k x} e^{-int s}, so this sign ABSORBS
outgoing waves in the e^{+i w t} convention. With 1 + i s/k the outgoing wave would grow; the solver then returns
exactly conj(u) (real m and f), the e^{-i w t}-outgoing field ~ -(i/4) H0^(1) * f, whose modulus also decays in
the PML: only the phase (the closed-form test) tells the signs apart. Behind the PML u = 0 (Dirichlet) on the
square's border. The one-way decay across the PML is exp(-k a0 L / 3): exp(-16.7) at k = 20.

Discretisation: grid linspace(-1, 1, n) per axis (endpoints included), arrays [ix, iy]; conservative 5-point
stencil with e_y/e_x and e_x/e_y evaluated at half points, second order in h; complex128 sparse direct solve.
The discrete operator is complex symmetric, so discrete reciprocity holds exactly. Resolve the source: the
sampled Gaussian's mass h^2 sum(f) is off by up to 3% at h = 2 std, 6e-5 at 1.33 std and 1e-8 at h = std (n = 201
for std 0.01); h > 1.5 std (mass error up to ~1e-3) gives a warning. Resolve the wavelength: the 5-point stencil's
phase error is about (k h)^2 / 24 per wavelength, 4.6% at 6 points per wavelength; fewer than
MIN_POINTS_PER_WAVELENGTH (6) on the shortest wavelength 2 pi c_min / k is refused (`require_resolved`), as is a grid
whose direct solve would not fit in memory (`require_solvable`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import sparse, special
from scipy.sparse.linalg import spsolve

from ..errors import SirenError
from ..fields.grid import FieldLike, axis, mesh, on_grid
from ..fields.pml import A0, PML_WIDTH, pml_stretch, stretched_coordinate
from ..fields.sources import SIGMA2, check_source, gaussian_source
from ..runtime import require_memory

MIN_POINTS_PER_WAVELENGTH = 6
FAR = 8.0  # beyond FAR std from the source the closed form is G(r) exp(-k^2 sigma2 / 2) to ~exp(-FAR^2 / 2)
_T, _W = np.polynomial.legendre.leggauss(64)
_T, _W = (_T + 1) / 2, _W / 2  # Gauss-Legendre on [0, 1]


def _check(k: float, pml_width: float, a0: float) -> None:
    if not (np.isfinite(k) and k > 0):
        raise SirenError(f"wavenumber k={k} must be a positive number")
    if not 0 < pml_width < 1:
        raise SirenError(f"pml_width={pml_width} must be in (0, 1): the PML is a border band of [-1, 1]^2")
    if not (np.isfinite(a0) and a0 >= 0):
        raise SirenError(f"PML strength a0={a0} must be >= 0 (5 in the paper)")


def solve_bytes(n: int) -> float:
    """About the peak bytes of the sparse direct solve on an n x n grid: N = (n - 2)^2 unknowns, the LU factors'
    fill growing as N log N (calibrated in docs/helmholtz.md)."""
    unknowns = max(n - 2, 1) ** 2
    return 200.0 * unknowns * max(math.log2(unknowns), 1.0)


def require_solvable(n: int, field: str = "n") -> None:
    """Refuse (SirenError naming `field`, before anything is built) an n x n grid whose direct solve would not fit
    in memory (`solve_bytes`, `siren.runtime.require_memory`)."""
    require_memory(solve_bytes, n, f"the FD solve on a {n} x {n} grid", field, least=3)


def require_resolved(k: float, n: int, c_min: float = 1.0, field: str = "n") -> None:
    """Refuse (SirenError on k) a wavenumber that the grid linspace(-1, 1, n) (its option: `field`) does not
    resolve: fewer than MIN_POINTS_PER_WAVELENGTH grid steps h = 2 / (n - 1) on the shortest wavelength
    2 pi c_min / k (c_min: the slowest speed of the model)."""
    per_wavelength = 2 * math.pi * c_min / k / (2 / (n - 1))
    if per_wavelength < MIN_POINTS_PER_WAVELENGTH:
        flag = "--" + field.replace("_", "-")
        k_max = math.pi * c_min * (n - 1) / MIN_POINTS_PER_WAVELENGTH
        n_min = math.ceil(MIN_POINTS_PER_WAVELENGTH * k / (math.pi * c_min)) + 1
        raise SirenError(f"{k:g} is not resolved by the grid: {per_wavelength:.2g} points per wavelength on "
                         f"{flag} {n}, at least {MIN_POINTS_PER_WAVELENGTH} needed (pass --k at most {k_max:.3g}, "
                         f"or {flag} at least {n_min})", field="k")


def helmholtz_matrix(k: float, m: np.ndarray, pml_width: float = PML_WIDTH, a0: float = A0):
    """The discrete PML operator of `helmholtz_solve` on the interior nodes: (A, exey). A: complex symmetric
    sparse CSC ((n-2)^2, (n-2)^2), unknowns u[1:-1, 1:-1] raveled in C order; its diagonal holds
    -(sum of the four stencil weights) / h^2 + e_x e_y m k^2. exey: e_x e_y (n, n), the factor of the right side.
    m: (n, n) squared slowness on linspace(-1, 1, n)^2."""
    _check(k, pml_width, a0)
    m = np.asarray(m, float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise SirenError(f"m {m.shape} must be a square (n, n) grid")
    n = m.shape[0]
    x = axis(n)
    h2 = (x[1] - x[0]) ** 2
    e, e_half = pml_stretch(x, pml_width, a0)[0], pml_stretch(0.5 * (x[1:] + x[:-1]), pml_width, a0)[0]
    ax = e[None, :] / e_half[:, None]  # (n-1, n): e_y(y_j) / e_x(x_{i+1/2})
    ay = e[:, None] / e_half[None, :]  # (n, n-1): e_x(x_i) / e_y(y_{j+1/2})
    exey = e[:, None] * e[None, :]
    east, west = ax[1:, 1:-1], ax[:-1, 1:-1]  # at interior nodes, (n-2, n-2)
    north, south = ay[1:-1, 1:], ay[1:-1, :-1]
    diag = -(east + west + north + south) / h2 + (exey * m * k**2)[1:-1, 1:-1]
    idx = np.arange((n - 2) ** 2).reshape(n - 2, n - 2)
    pairs = [(idx[:-1, :], idx[1:, :], east[:-1, :] / h2), (idx[:, :-1], idx[:, 1:], north[:, :-1] / h2)]
    rows = [idx.ravel()] + [a.ravel() for a, b, _ in pairs] + [b.ravel() for a, b, _ in pairs]
    cols = [idx.ravel()] + [b.ravel() for a, b, _ in pairs] + [a.ravel() for a, b, _ in pairs]
    vals = [diag.ravel()] + [v.ravel() for *_, v in pairs] * 2
    A = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(idx.size, idx.size))
    return A, exey


def helmholtz_solve(k: float, m: np.ndarray, f: np.ndarray, pml_width: float = PML_WIDTH,
                    a0: float = A0) -> np.ndarray:
    """Solve the PML equation above for u (n, n) complex128 on the grid linspace(-1, 1, n)^2.

    m: (n, n) squared slowness, f: (n, n) right side (real or complex) on that grid; u = 0 on the border.
    """
    m, f = np.asarray(m, float), np.asarray(f)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or f.shape != m.shape:
        raise SirenError(f"m {m.shape} and f {f.shape} must be the same square (n, n) grid")
    A, exey = helmholtz_matrix(k, m, pml_width, a0)
    n = m.shape[0]
    u = np.zeros((n, n), complex)
    u[1:-1, 1:-1] = spsolve(A, (exey * f)[1:-1, 1:-1].ravel()).reshape(n - 2, n - 2)
    return u


def helmholtz_fd(n: int, k: float, m: FieldLike = 1.0, source=(0.0, 0.0), sigma2: float = SIGMA2,
                 amplitude: complex = 1.0, pml_width: float = PML_WIDTH, a0: float = A0):
    """Finite-difference field of the Gaussian source: returns (x, y, u), x = y = linspace(-1, 1, n), u (n, n)
    complex128 indexed [ix, iy]. m: squared slowness, a scalar, an (n, n) array on the grid, or a callable
    m(X, Y); e.g. m = lambda X, Y: velocity_preset("circle", X, Y) ** -2. The source must lie in the non-PML
    square [-(1 - L), 1 - L]^2."""
    _check(k, pml_width, a0)
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise SirenError(f"source variance sigma2={sigma2} must be positive (1e-4 in the paper)")
    x0, y0 = check_source(source)
    if max(abs(x0), abs(y0)) > 1 - pml_width:
        raise SirenError(f"source ({x0}, {y0}) lies in the PML: put it inside [-{1 - pml_width:g}, "
                         f"{1 - pml_width:g}]^2 or use a narrower pml_width")
    x, X, Y = mesh(n)
    m = on_grid(m, X, Y, "squared slowness m")
    if m.min() <= 0:
        raise SirenError(f"squared slowness m must be positive, got min {m.min():.4g}: use m = 1 / c^2")
    if x[1] - x[0] > 1.5 * np.sqrt(sigma2) * (1 + 1e-9):
        warnings.warn(f"grid spacing {x[1] - x[0]:.3g} exceeds 1.5 source std ({1.5 * np.sqrt(sigma2):.3g}): the "
                      f"sampled source misses part of its mass; use n >= "
                      f"{int(np.ceil(2 / (1.5 * np.sqrt(sigma2)) - 1e-9)) + 1}", stacklevel=2)
    u = helmholtz_solve(k, m, gaussian_source(X, Y, (x0, y0), sigma2, amplitude), pml_width, a0)
    return x, x.copy(), u


def _green_gaussian(r: np.ndarray, k: float, sigma2: float) -> np.ndarray:
    """(G * g)(r) for G = (i/4) H0^(2)(k r) and g the unit-mass Gaussian of variance sigma2, exact.

    Graf's addition theorem for a radial g: (G * g)(r) = (i/4) [H(kr) A(r) + J0(kr) (B0 - C(r))], H = H0^(2),
    A(r) = int_0^r J0(k p) w(p) dp, C(r) = int_0^r H(k p) w(p) dp, w(p) = 2 pi p g(p) = p / sigma2 e^{-p^2 / 2 sigma2},
    B0 = int_0^inf H(k p) w(p) dp = e^{-q} (1 - (i / pi) Ei(q)), q = k^2 sigma2 / 2. A and C by 64-point
    Gauss-Legendre in p = r t^2; beyond FAR std, A = e^{-q} and B0 = C to ~1e-14, leaving G(r) e^{-q}.
    """
    q, std = k**2 * sigma2 / 2, np.sqrt(sigma2)
    out = 0.25j * special.hankel2(0, k * np.maximum(r, FAR * std)) * np.exp(-q)
    near = r < FAR * std
    rn = r[near][:, None]
    p = rn * _T**2
    w = p / sigma2 * np.exp(-(p**2) / (2 * sigma2)) * 2 * rn * _T * _W
    A = (special.j0(k * p) * w).sum(1)
    C = (special.hankel2(0, k * np.where(p > 0, p, 1.0)) * w).sum(1)  # w = 0 where p = 0
    rn = rn[:, 0]
    H = np.where(rn > 0, special.hankel2(0, k * np.where(rn > 0, rn, 1.0)), 0.0)  # A(0) = 0
    B0 = np.exp(-q) * (1 - 1j / np.pi * special.expi(q))
    out[near] = 0.25j * (H * A + special.j0(k * rn) * (B0 - C))
    return out


def helmholtz_closed_form(x: np.ndarray, y: np.ndarray, k: float, source=(0.0, 0.0), sigma2: float = SIGMA2,
                          amplitude: complex = 1.0) -> np.ndarray:
    """Free-space field (m = 1, no boundary) of the Gaussian source on the grid x (nx,) by y (ny,): complex
    (nx, ny) [ix, iy]. Equals amplitude (i/4) H0^(2)(k r) exp(-k^2 sigma2 / 2) beyond 8 std of the source (to
    ~1e-14; the factor is 0.98 at k = 20) and the exact convolution G * f inside, finite at r = 0."""
    if not (np.isfinite(k) and k > 0 and np.isfinite(sigma2) and sigma2 > 0):
        raise SirenError(f"k={k} and sigma2={sigma2} must be positive numbers")
    x0, y0 = (float(v) for v in source)
    X, Y = np.meshgrid(np.asarray(x, float), np.asarray(y, float), indexing="ij")
    return amplitude * _green_gaussian(np.hypot(X - x0, Y - y0), k, sigma2)


def background_field(x: np.ndarray, y: np.ndarray, k: float, source, amplitude: complex = 1.0) -> np.ndarray:
    """u0 at points (N,): the field of the Gaussian source in a uniform medium (m = 1) continued into the PML,
    complex128 (N,). Inside [-0.5, 0.5]^2 it is the free-space closed form G * f (`helmholtz_closed_form`); in the
    PML it is amplitude e^{-k^2 sigma2/2} (i/4) H0^(2)(k r~), r~ = |(x~, y~) - source| over the stretched
    coordinates (`siren.fields.pml.stretched_coordinate`; principal root: Im r~ <= 0, so it decays). Since
    d/dx~ = (1/e_x) d/dx, u0 solves the PML equation exactly for m = 1: L u0 = e_x e_y f everywhere (for a source
    at least 8 std, 0.08, from the PML)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    u0 = amplitude * _green_gaussian(np.hypot(x - source[0], y - source[1]), k, SIGMA2)
    pml = np.maximum(np.abs(x), np.abs(y)) > 1 - PML_WIDTH
    r = np.sqrt((stretched_coordinate(x[pml]) - source[0]) ** 2 + (stretched_coordinate(y[pml]) - source[1]) ** 2)
    u0[pml] = amplitude * np.exp(-k ** 2 * SIGMA2 / 2) * 0.25j * special.hankel2(0, k * r)
    return u0
