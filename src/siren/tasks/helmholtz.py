"""`siren helmholtz`: the inhomogeneous Helmholtz equation with a PML, solved by supervising only derivatives, and
scored against the finite-difference solver `siren.solvers.helmholtz_fd`.

Conventions (those of `siren.solvers.helmholtz`): (Laplacian + m(x) k^2) u = f on [-1, 1]^2, m = 1/c^2, f a
Gaussian of variance 1e-4 and mass 1 at `source`, outgoing for e^{+i w t}: in a uniform medium u = G * f with
G = (i/4) H0^(2)(k r). PML of width 0.5: e(t) = 1 - i a0 (d/L)^2 (a0 = 5, L = 0.5, d the depth into the PML along
that axis), and the equation everywhere reads

    L u = d/dx(e_y/e_x u_x) + d/dy(e_x/e_y u_y) + e_x e_y m k^2 u = e_x e_y f.

The network maps (x, y) in [-1, 1]^2 to (Re, Im) of its field. Expanded, L u = (e_y/e_x) u_xx + e_y (1/e_x)' u_x +
(e_x/e_y) u_yy + e_x (1/e_y)' u_y + e_x e_y m k^2 u: the loss asks `siren.diff` for the gradient and the Hessian
diagonal (per-axis second derivatives, forward mode).

Formulations (`--formulation`):
  scattered (default)  u = u0 + u_s, u0 (`background`) the closed-form field of the source in the uniform
                       background m = 1, continued into the PML over the stretched coordinates so that L u0 = e_x e_y f
                       holds exactly there too; the network is u_s, with L u_s = -F, F = e_x e_y (m - 1) k^2 u0 (zero
                       wherever m = 1). No singular source is left to fit; in a uniform medium u_s = 0 (up to the
                       PML's reflection, exp(-k a0 L / 3)).
  total                the paper's: the network is u, residual L u - e_x e_y f; a tenth of each batch is drawn
                       from a Gaussian of 3 source std around the source so the narrow source is seen.
Loss: mean over the batch of |residual / (e_x e_y)|^2 / k^4 (uniform points in [-1, 1]^2), i.e. the residual of
the stretched form d2u/dx~2 + d2u/dy~2 + m k^2 u - f (d/dx~ = (1/e_x) d/dx). Without the division the PML
corners, where |e_x e_y|^2 reaches 676, outweigh the interior: measured at k = 20 (circle, 128 wide, Adam 5e-4
cosine), relative L2 0.87 after 1,250 steps with it against 0.11 with the division. Scores: relative L2 and MSE of u
against the solver over the non-PML square [-0.5, 0.5]^2 (at log steps on every 4th grid point, at the end on all).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import special

from .. import diff, viz
from ..errors import SirenError
from ..options import option
from ..solvers import helmholtz_fd
from ..solvers.grid import PRESETS, check_source, mesh, parse_point, speed_model
from ..solvers.helmholtz import SIGMA2, _green_gaussian, gaussian_source
from .base import Output, Task, register

PML_WIDTH, A0 = 0.5, 5.0
FORMULATIONS = ("scattered", "total")
SOURCE_SHARE = 0.1          # total formulation: share of each batch drawn around the source


@dataclass
class HelmholtzConfig:
    velocity: str = option("uniform", f"speed model: {', '.join(PRESETS)} (the paper's: c = 2 inside a square or "
                           "circle) or a .npy file of c over [-1, 1]^2 (axis 0 = x, grid with endpoints, c in "
                           "[0.1, 10])")
    k: float = option(20.0, "wavenumber (omega / c0)")
    source: str = option("0,0", "source position X,Y inside the non-PML square [-0.5, 0.5]^2")
    formulation: str = option("scattered", "scattered: learn u - u0 (u0 the closed form in a uniform medium); "
                              "total: learn u with the source in the residual (the paper's)", choices=list(FORMULATIONS))
    points: int = option(4096, "collocation points per step, uniform in [-1, 1]^2")
    n: int = option(256, "grid of wavefield.npz and of the solver (points per axis)")


def _stretch(t: torch.Tensor):
    """e(t) = 1 - i a0 (d/L)^2 and d(1/e)/dt for the PML along one axis; t real (N,) -> complex (N,) each."""
    d = (t.abs() - (1 - PML_WIDTH)).clamp_min(0)
    e = 1 - 1j * A0 * (d / PML_WIDTH) ** 2
    de = -1j * A0 * 2 * d / PML_WIDTH ** 2 * torch.sign(t)
    return e, -de / e ** 2


def pml_operator(u, ux, uy, uxx, uyy, x, y, m, k):
    """L u of the module docstring at points (x, y) (N,), for complex u and its derivatives (N,) each."""
    ex, dinv_x = _stretch(x)
    ey, dinv_y = _stretch(y)
    return ey / ex * uxx + ey * dinv_x * ux + ex / ey * uyy + ex * dinv_y * uy + ex * ey * m * k ** 2 * u


def stretched(t: np.ndarray) -> np.ndarray:
    """The PML's complex coordinate t~ = int_0^t e = t - i sign(t) a0 d^3 / (3 L^2) (d the depth into the PML)."""
    d = np.maximum(np.abs(t) - (1 - PML_WIDTH), 0.0)
    return t - 1j * np.sign(t) * A0 * d ** 3 / (3 * PML_WIDTH ** 2)


def background(x: np.ndarray, y: np.ndarray, k: float, source, amplitude: complex = 1.0) -> np.ndarray:
    """u0 at points (N,): the field of the Gaussian source in a uniform medium (m = 1) continued into the PML,
    complex128 (N,). Inside [-0.5, 0.5]^2 it is the free-space closed form G * f (siren.solvers); in the PML it
    is amplitude e^{-k^2 sigma2/2} (i/4) H0^(2)(k r~), r~ = |(x~, y~) - source| over the stretched coordinates
    (principal root: Im r~ <= 0, so it decays). Since d/dx~ = (1/e_x) d/dx, u0 solves the PML equation exactly
    for m = 1: L u0 = e_x e_y f everywhere (for a source at least 8 std, 0.08, from the PML)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    u0 = amplitude * _green_gaussian(np.hypot(x - source[0], y - source[1]), k, SIGMA2)
    pml = np.maximum(np.abs(x), np.abs(y)) > 1 - PML_WIDTH
    r = np.sqrt((stretched(x[pml]) - source[0]) ** 2 + (stretched(y[pml]) - source[1]) ** 2)
    u0[pml] = amplitude * np.exp(-k ** 2 * SIGMA2 / 2) * 0.25j * special.hankel2(0, k * r)
    return u0


def forcing(x: np.ndarray, y: np.ndarray, m: np.ndarray, k: float, source, formulation: str = "scattered",
            amplitude: complex = 1.0) -> np.ndarray:
    """The known part F of the stretched-form residual L u / (e_x e_y) + F, complex128 (N,) at points (N,) with
    squared slowness m (N,). total: the network is u and F = -f. scattered: the network is u_s = u - u0
    (u0 = `background`) and F = (L u0 - e_x e_y f) / (e_x e_y) = (m - 1) k^2 u0, zero wherever m = 1 (u0 is
    only evaluated where m != 1)."""
    if formulation == "total":
        return -gaussian_source(x, y, source, SIGMA2, amplitude).astype(complex)
    out = np.zeros(len(x), complex)
    hit = m != 1
    out[hit] = (m[hit] - 1) * k ** 2 * background(x[hit], y[hit], k, source, amplitude)
    return out


@register
class HelmholtzTask(Task):
    """Solve the Helmholtz equation with a PML (see the module docstring)."""

    name = "helmholtz"
    help = "the Helmholtz equation with a PML (k, velocity model, source), scored against an FD solver"
    Config = HelmholtzConfig
    train_defaults = {"steps": 3000, "lr": 5e-4, "schedule": "cosine"}
    hidden_features = 128      # the suggested width (3 hidden layers as usual): see model_options
    metric_name, metric_goal = "rel_l2", "min"
    in_features, out_features = 2, 2

    def __init__(self, k: float, c: np.ndarray, source=(0.0, 0.0), formulation: str = "scattered",
                 points: int = 4096, velocity: str = "uniform"):
        """c: speed (n, n) on linspace(-1, 1, n) per axis, [ix, iy]; the solver runs on that grid."""
        if not (np.isfinite(k) and k > 0):
            raise SirenError(f"--k must be a positive number, got {k}")
        if formulation not in FORMULATIONS:
            raise SirenError(f"unknown formulation {formulation!r} (choose {' or '.join(FORMULATIONS)})")
        if points < 16:
            raise SirenError(f"--points must be at least 16, got {points}")
        self.k, self.source, self.formulation, self.points = float(k), check_source(source), formulation, points
        self.velocity, self.n = velocity, c.shape[0]
        if max(abs(v) for v in self.source) > 1 - PML_WIDTH:
            raise SirenError(f"source {self.source} lies in the PML: put it inside [-0.5, 0.5]^2")
        self.m_grid = 1.0 / c ** 2
        self.x, _, _ = mesh(self.n)
        self.u_solver = helmholtz_fd(self.n, self.k, self.m_grid, self.source)[2]
        inner = np.abs(self.x) <= 1 - PML_WIDTH + 1e-9
        self.inner = np.flatnonzero(inner)
        self.probe = self.inner[::4]
        self.m_table = torch.from_numpy(self.m_grid).float()[None, None]      # (1, 1, n_x, n_y) for grid_sample

    @classmethod
    def from_config(cls, config: HelmholtzConfig):
        if config.n < 32:
            raise SirenError(f"--n must be at least 32, got {config.n}")
        source = parse_point(config.source)
        return cls(config.k, speed_model(config.velocity, config.n), source, config.formulation, config.points,
                   config.velocity)

    def model_options(self, model_name: str) -> dict:
        """Networks 128 wide by default (--hidden-features overrides): at k = 20 this width reaches 10% relative L2
        in about 1,500 steps, at a third of the usual 256's cost a step."""
        return {"hidden_features": self.hidden_features}

    def m_at(self, xy: torch.Tensor) -> torch.Tensor:
        """Squared slowness at points (N, 2), bilinear on the grid (axis 0 = x)."""
        grid = xy.flip(-1)[None, :, None, :].to(self.m_table)          # grid_sample: (W, H) = (y, x)
        return torch.nn.functional.grid_sample(self.m_table, grid, align_corners=True)[0, 0, :, 0].to(xy)

    def _collocation(self, generator: torch.Generator) -> torch.Tensor:
        xy = torch.rand(self.points, 2, generator=generator) * 2 - 1
        if self.formulation == "total":
            near = int(self.points * SOURCE_SHARE)
            xy[:near] = torch.tensor(self.source) + 3 * SIGMA2 ** 0.5 * torch.randn(near, 2, generator=generator)
        return xy.clamp(-1, 1)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        p = next(model.parameters())
        xy = self._collocation(generator)
        out = diff.derivatives(model, xy.to(p), gradient=True, hessian_diagonal=True)
        cplx = lambda t: torch.complex(t[:, 0], t[:, 1]).to(torch.complex128)        # noqa: E731  (N, 2) -> (N,)
        u, ux, uy = cplx(out.value), cplx(out.gradient[..., 0]), cplx(out.gradient[..., 1])
        uxx, uyy = cplx(out.hessian_diagonal[..., 0]), cplx(out.hessian_diagonal[..., 1])
        x, y = xy[:, 0].double().to(p.device), xy[:, 1].double().to(p.device)
        m = self.m_at(xy).double()
        known = forcing(xy[:, 0].double().numpy(), xy[:, 1].double().numpy(), m.numpy(), self.k, self.source,
                        self.formulation)
        m, known = m.to(p.device), torch.from_numpy(known).to(p.device)
        exey = _stretch(x)[0] * _stretch(y)[0]           # the stretched form: every point weighs the same
        residual = pml_operator(u, ux, uy, uxx, uyy, x, y, m, self.k) / exey + known
        return {"residual": (((residual.abs() ** 2).mean() / self.k ** 4).to(p.dtype), 1.0)}

    def field(self, model, idx: np.ndarray | None = None) -> np.ndarray:
        """The network's total field u on the grid points x[idx] x x[idx] (default all) -> complex (len, len)."""
        X, Y, _, out = network_on_grid(model, self.x if idx is None else self.x[idx])
        out = out.numpy()
        u = (out[:, 0] + 1j * out[:, 1]).reshape(X.shape)
        if self.formulation == "scattered":
            u = u + background(X.ravel(), Y.ravel(), self.k, self.source).reshape(X.shape)
        return u

    def _scores(self, u: np.ndarray, idx: np.ndarray) -> dict:
        ref = self.u_solver[np.ix_(idx, idx)]
        err = u - ref
        return {"rel_l2": float(np.linalg.norm(err) / np.linalg.norm(ref)), "mse": float(np.mean(np.abs(err) ** 2))}

    def evaluate(self, model) -> dict:
        return self._scores(self.field(model, self.probe), self.probe)

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir = Path(out_dir)
        u = self.field(model)
        result = {**self._scores(u[np.ix_(self.inner, self.inner)], self.inner), "k": self.k,
                  "formulation": self.formulation, "velocity": self.velocity}
        np.savez(out_dir / "wavefield.npz", u=u, x=self.x, y=self.x, k=self.k, source=np.array(self.source),
                 m=self.m_grid, u_solver=self.u_solver)
        field_figure(self.x, u, self.u_solver, out_dir / "helmholtz.png",
                     f"k = {self.k:g}, {self.velocity}: relative L2 {result['rel_l2']:.3f} in [-0.5, 0.5]^2")
        viz.curve(history, "rel_l2", out_dir / "error.png", ylabel="relative L2 vs solver (non-PML square)")
        return result, [Output("helmholtz.png", "figure", "real, imaginary part and magnitude: SIREN, FD solver, "
                               "difference (PML outside the dashed square)"),
                        Output("error.png", "figure", "relative L2 error against the solver by training step"),
                        Output("wavefield.npz", "field", f"u, u_solver (complex, {self.n} x {self.n}, axis 0 = x), "
                               "x, y, k, source, m")]

    def meta(self) -> dict:
        return {"task": self.name, "k": self.k, "source": list(self.source), "formulation": self.formulation,
                "velocity": self.velocity, "n": self.n}

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--k", "6", "--n", "41", "--points", "64", "--velocity", "circle"]


def network_on_grid(model, points: np.ndarray):
    """The network on the grid points x `points` (P,), axis 0 = x -> X, Y (P, P) arrays, xy (P^2, 2) and the
    outputs (P^2, C), both float64 CPU tensors (graph-free, 65,536 points at a time)."""
    X, Y = np.meshgrid(points, points, indexing="ij")
    xy = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], -1))
    p = next(model.parameters())
    out = torch.cat([diff.inference(model, c.to(p)).double().cpu() for c in xy.split(65_536)])
    return X, Y, xy, out


def field_figure(x: np.ndarray, u: np.ndarray, ref: np.ndarray, path: Path, title: str) -> None:
    """3 x 3 panels: rows real, imaginary, magnitude; columns SIREN, solver, difference (same colour scale per
    row for the first two); the non-PML square dashed."""
    plt = viz.pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(11, 10), constrained_layout=True)
    lim = float(np.percentile(np.abs(ref), 99.5)) or 1.0
    for r, (name, f) in enumerate((("real", np.real), ("imaginary", np.imag), ("magnitude", np.abs))):
        lo = 0 if name == "magnitude" else -lim
        for c, (label, field) in enumerate((("SIREN", f(u)), ("FD solver", f(ref)), ("difference", f(u) - f(ref)))):
            ax = axes[r, c]
            vmin, vmax = (-lim / 4, lim / 4) if label == "difference" else (lo, lim)
            im = ax.imshow(field.T, origin="lower", extent=(-1, 1, -1, 1), vmin=vmin, vmax=vmax,
                           cmap="RdBu_r" if (label == "difference" or name != "magnitude") else "magma")
            ax.plot([-0.5, 0.5, 0.5, -0.5, -0.5], [-0.5, -0.5, 0.5, 0.5, -0.5], "k--", lw=0.7)
            ax.set_title(f"{label}, {name}")
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)
