"""`siren helmholtz`: the inhomogeneous Helmholtz equation with a PML, solved by supervising only derivatives, and
scored against the finite-difference solver `siren.solvers.helmholtz_fd`.

Conventions (those of `siren.solvers.helmholtz`): (Laplacian + m(x) k^2) u = f on [-1, 1]^2, m = 1/c^2, f a
Gaussian of variance 1e-4 and mass 1 at `source`, outgoing for e^{+i w t}: in a uniform medium u = G * f with
G = (i/4) H0^(2)(k r). PML (`siren.fields.pml`) of width 0.5: e(t) = 1 - i a0 (d/L)^2 (a0 = 5, L = 0.5, d the
depth into the PML along that axis), and the equation everywhere reads

    L u = d/dx(e_y/e_x u_x) + d/dy(e_x/e_y u_y) + e_x e_y m k^2 u = e_x e_y f.

The network maps (x, y) in [-1, 1]^2 to (Re, Im) of its field. Expanded (`siren.fields.pml.pml_operator`),
L u = (e_y/e_x) u_xx + e_y (1/e_x)' u_x + (e_x/e_y) u_yy + e_x (1/e_y)' u_y + e_x e_y m k^2 u: the loss asks
`siren.diff` for the gradient and the Hessian diagonal (per-axis second derivatives, forward mode).

Formulations (`--formulation`):
  scattered (default)  u = u0 + u_s, u0 (`siren.solvers.background_field`) the closed-form field of the source
                       in the uniform background m = 1, continued into the PML over the stretched coordinates so
                       that L u0 = e_x e_y f holds exactly there too; the network is u_s, with L u_s = -F,
                       F = e_x e_y (m - 1) k^2 u0 (zero wherever m = 1). No singular source is left to fit; in a
                       uniform medium u_s = 0 (up to the PML's reflection, exp(-k a0 L / 3)).
  total                the paper's: the network is u, residual L u - e_x e_y f; a tenth of each batch is drawn
                       from a Gaussian of 3 source std around the source so the narrow source is seen.
Posed as a `siren.problem.Problem` (outputs re, im on the box [-1, 1]^2, which the network sees as it is; one complex
`Residual` with its own sampler), trained by the solve task's loop.
Loss: mean over the batch of |residual / (e_x e_y)|^2 / k^4 (uniform points in [-1, 1]^2), i.e. the residual of
the stretched form d2u/dx~2 + d2u/dy~2 + m k^2 u - f (d/dx~ = (1/e_x) d/dx). Without the division the PML
corners, where |e_x e_y|^2 reaches 676, outweigh the interior (docs/helmholtz.md has the runs with and without the
division). Scores: relative L2 and MSE of u
against the solver over the non-PML square [-0.5, 0.5]^2 (at log steps on every 4th grid point, at the end on all).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..errors import SirenError
from ..fields.grid import lookup, mesh, network_on_grid
from ..fields.pml import PML_WIDTH, pml_operator, pml_stretch
from ..fields.sources import SIGMA2, check_source, gaussian_source, parse_point
from ..fields.speed import PRESETS, speed_model
from ..metrics import relative_l2
from ..options import option
from ..problem import Problem, Rectangle, Residual
from ..runtime import require_points
from ..solvers import background_field, helmholtz_fd
from ..solvers.helmholtz import require_resolved, require_solvable
from ..viz.fields import complex_field_figure
from .base import Output, register
from .solve import SolveTask

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
    batch: int = option(4096, "collocation points per step, uniform in [-1, 1]^2", aliases=("--points",))
    n: int = option(256, "grid of wavefield.npz and of the solver (points per axis)")


def forcing(x: np.ndarray, y: np.ndarray, m: np.ndarray, k: float, source, formulation: str = "scattered",
            amplitude: complex = 1.0) -> np.ndarray:
    """The known part F of the stretched-form residual L u / (e_x e_y) + F, complex128 (N,) at points (N,) with
    squared slowness m (N,). total: the network is u and F = -f. scattered: the network is u_s = u - u0
    (u0 = `siren.solvers.background_field`) and F = (L u0 - e_x e_y f) / (e_x e_y) = (m - 1) k^2 u0, zero
    wherever m = 1 (u0 is only evaluated where m != 1)."""
    if formulation == "total":
        return -gaussian_source(x, y, source, SIGMA2, amplitude).astype(complex)
    out = np.zeros(len(x), complex)
    hit = m != 1
    out[hit] = (m[hit] - 1) * k ** 2 * background_field(x[hit], y[hit], k, source, amplitude)
    return out


@register
class HelmholtzTask(SolveTask):
    """Solve the Helmholtz equation with a PML (see the module docstring)."""

    name = "helmholtz"
    help = "the Helmholtz equation with a PML (k, velocity model, source), scored against an FD solver"
    Config = HelmholtzConfig
    train_defaults = {"steps": 3000, "lr": 5e-4, "schedule": "cosine"}
    width = 128                # the suggested width (3 hidden layers as usual): see model_hints
    metric_name, goals = "rel_l2", {"rel_l2": "min", "mse": "min"}
    data_parallel = False

    def __init__(self, k: float, c: np.ndarray, source=(0.0, 0.0), formulation: str = "scattered",
                 points: int = 4096, velocity: str = "uniform"):
        """c: speed (n, n) on linspace(-1, 1, n) per axis, [ix, iy]; the solver runs on that grid."""
        if not (np.isfinite(k) and k > 0):
            raise SirenError(f"must be a positive number, got {k}", field="k")
        if formulation not in FORMULATIONS:
            raise SirenError(f"unknown formulation {formulation!r} (choose {' or '.join(FORMULATIONS)})")
        if points < 16:
            raise SirenError(f"must be at least 16, got {points}", field="batch")
        require_points(points, "batch")
        self.k, self.source, self.formulation = float(k), check_source(source), formulation
        self.velocity, self.n = velocity, c.shape[0]
        require_resolved(self.k, self.n, float(c.min()))
        if max(abs(v) for v in self.source) > 1 - PML_WIDTH:
            raise SirenError(f"source {self.source} lies in the PML: put it inside [-0.5, 0.5]^2")
        self.m_grid = 1.0 / c ** 2
        self.x, _, _ = mesh(self.n)
        self.u_solver = helmholtz_fd(self.n, self.k, self.m_grid, self.source)[2]
        inner = np.abs(self.x) <= 1 - PML_WIDTH + 1e-9
        self.inner = np.flatnonzero(inner)
        self.probe = self.inner[::4]
        self.m_table = torch.from_numpy(self.m_grid).float()                  # (n, n) for `lookup`
        super().__init__(Problem(Rectangle([-1, -1], [1, 1]), outputs=("re", "im"), constraints={
            "residual": Residual(self.residual, points=points, sampler=self._collocation)}), scored=False)

    @classmethod
    def from_config(cls, config: HelmholtzConfig):
        if config.n < 32:
            raise SirenError(f"must be at least 32, got {config.n}", field="n")
        require_solvable(config.n)
        source = parse_point(config.source)
        return cls(config.k, speed_model(config.velocity, config.n), source, config.formulation, config.batch,
                   config.velocity)

    def model_hints(self) -> dict:
        """Networks 128 wide by default (--hidden-features overrides; docs/helmholtz.md: the runs at this width)."""
        return {"hidden_features": self.width}

    def m_at(self, xy: torch.Tensor) -> torch.Tensor:
        """Squared slowness at points (N, 2) -> (N,), bilinear on the grid."""
        return lookup(self.m_table, xy)

    def _collocation(self, n: int, generator: torch.Generator, step: int) -> torch.Tensor:
        """n points uniform in [-1, 1]^2; total formulation: a share SOURCE_SHARE of them around the source."""
        xy = torch.rand(n, 2, generator=generator) * 2 - 1
        if self.formulation == "total":
            near = int(n * SOURCE_SHARE)
            xy[:near] = torch.tensor(self.source) + 3 * SIGMA2 ** 0.5 * torch.randn(near, 2, generator=generator)
        return xy.clamp(-1, 1)

    def residual(self, v) -> torch.Tensor:
        """(L u / (e_x e_y) + F) / k^2 at the view's points -> complex128 (N,) (the module docstring's loss)."""
        cplx = lambda a, b: torch.complex(a, b).to(torch.complex128)                # noqa: E731
        u = cplx(v.re, v.im)
        ux, uy = cplx(v.d("re", "x"), v.d("im", "x")), cplx(v.d("re", "y"), v.d("im", "y"))
        uxx, uyy = cplx(v.d("re", "x", "x"), v.d("im", "x", "x")), cplx(v.d("re", "y", "y"), v.d("im", "y", "y"))
        x, y = v.x.double(), v.y.double()
        m = self.m_at(torch.stack([v.x, v.y], 1).float().cpu()).double()
        known = forcing(x.cpu().numpy(), y.cpu().numpy(), m.numpy(), self.k, self.source, self.formulation)
        m, known = m.to(x.device), torch.from_numpy(known).to(x.device)
        exey = pml_stretch(x)[0] * pml_stretch(y)[0]     # the stretched form: every point weighs the same
        return (pml_operator(u, ux, uy, uxx, uyy, x, y, m, self.k) / exey + known) / self.k ** 2

    def field(self, model, idx: np.ndarray | None = None) -> np.ndarray:
        """The network's total field u on the grid points x[idx] x x[idx] (default all) -> complex (len, len)."""
        X, Y, _, out = network_on_grid(model, self.x if idx is None else self.x[idx])
        out = out.numpy()
        u = (out[:, 0] + 1j * out[:, 1]).reshape(X.shape)
        if self.formulation == "scattered":
            u = u + background_field(X.ravel(), Y.ravel(), self.k, self.source).reshape(X.shape)
        return u

    def _scores(self, u: np.ndarray, idx: np.ndarray) -> dict:
        ref = self.u_solver[np.ix_(idx, idx)]
        return {"rel_l2": relative_l2(u, ref), "mse": float(np.mean(np.abs(u - ref) ** 2))}

    def scores(self, model, final: bool = False) -> dict:
        return self._scores(self.field(model, self.probe), self.probe)

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir = Path(out_dir)
        u = self.field(model)
        result = {**self._scores(u[np.ix_(self.inner, self.inner)], self.inner), "k": self.k,
                  "formulation": self.formulation, "velocity": self.velocity}
        np.savez(out_dir / "wavefield.npz", u=u, x=self.x, y=self.x, k=self.k, source=np.array(self.source),
                 m=self.m_grid, u_solver=self.u_solver)
        complex_field_figure(u, self.u_solver, out_dir / "helmholtz.png",
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
        return ["--k", "6", "--n", "41", "--batch", "64", "--velocity", "circle"]
