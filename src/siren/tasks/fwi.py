"""`siren fwi`: full-waveform inversion. Recover the squared slowness m = 1/c^2 and the wavefields of S sources
from the complex wavefield at R receivers only, with one SIREN, and compare with the classical adjoint-state
baseline (`siren.solvers.fwi.AdjointFWI`) on the same data.

Conventions (those of `siren.tasks.helmholtz`): (Laplacian + m k^2) u_j = f_j on [-1, 1]^2, f_j a Gaussian of
variance 1e-4 and mass `amplitude` at source j, outgoing for e^{+i w t}, PML of width 0.5; geometry of sources and
receivers: `siren.solvers.fwi.reference_geometry` (the reference code's: sources on y = -0.347, receivers on the
top, left and right lines at 0.402). Data: synthesized with the FD solver on the n x n grid from the true velocity
(`--velocity`, source amplitude 1), or the reference code's .mat receiver data (`--data`, amplitude 1 + 1j, true
velocity unknown).

Network: (x, y) -> 2 S + 1 channels: (Re, Im) of the scattered field u_s,j = u_j - u0_j of source j, interleaved
(channels 2j, 2j + 1), and q. u0_j = `siren.solvers.background_field`, the closed-form field of source j in the
uniform medium m = 1, continued into the PML. Squared slowness

    m = exp(clamp(q, ln 0.01, ln 100))  where |x|, |y| <= 0.75,   m = 1 elsewhere

(positive, c in [0.1, 10] as the baseline's bounds; q starts near 0, so the starting model is m ~ 1, the
baseline's; m = 1 outside the box as in the reference code). Loss, D = mean_{r, j} |d_j(r)|^2:

    residual  mean_{x, j} |L_m u_s,j + e_x e_y (m - 1) k^2 u0_j|^2 / (k^4 D)     weight 1
    data      mean_{r, j} |u0_j(r) + u_s,j(r) - d_j(r)|^2 / D                    weight `data_weight`

L_m = `siren.fields.pml.pml_operator` with the network's m, so the residual is the full equation
L_m u_j = e_x e_y f_j (L_1 u0_j = e_x e_y f_j exactly). Unlike `siren helmholtz`, not divided by e_x e_y: with the
division a 1,500-step probe was a little better (velocity MSE 0.0295 against 0.0301) but the full default run
worse (0.0151 against 0.0119). x: `points` a step drawn from a fixed pool of `pool` points (seed 0), where u0 is
computed once: 1/4 uniform in [-1, 1]^2, 1/2 uniform in the non-PML square [-0.5, 0.5]^2 (where the receivers see the
medium), 1/4 normal with std 0.05 around the receivers (so that the data cannot be fitted by local bumps that break
the equation there); all receivers every step. Derivatives: `siren.diff.derivatives` (gradient and Hessian
diagonal, forward mode).

Posed as a `siren.problem.Problem` on [-1, 1]^2 (the network's own box) with outputs re0, im0, ..., re{S-1},
im{S-1}, q: the residual a complex `Residual` on `Points(pool, data={"u0": ...}, batch=points)`, the data an
`Observation` of the scattered fields d - u0 at the receivers; trained through the solve task's loop.

Defaults, chosen by CPU probes on the circle model (1 thread): networks 128 wide with 3 hidden layers, SIREN first
omega_0 10, 1,024 points a step, data weight 10, Adam 3e-4 with cosine decay over 14,000 steps.
The data are fitted within a few hundred steps; the velocity then follows slowly, as the fields become solutions
of the equation (docs/fwi.md has the probes and the full run against the baseline).

Scores: velocity MSE of c over the non-PML square [-0.5, 0.5]^2 against the true c (at log steps on every 4th
grid point, at the end on all), relative data misfit sum |u(r) - d|^2 / sum |d|^2 of the SIREN and of the baseline,
wavefield_rel_l2 = ||u - u_solver|| / ||u_solver|| over the non-PML square and all sources (u_solver as in
wavefield.npz: with --data a check of the SIREN's fields against its own velocity).

Files: velocity.npz (c_true (NaN with --data), c_siren, c_baseline (n, n), x, y, sources, receivers),
wavefield.npz (u (S, n, n) total fields of the SIREN, x, y, k, source (S, 2), receivers, m (n, n) the SIREN's,
u_solver (S, n, n) the FD fields in the true velocity, or with --data in the SIREN's velocity), velocity.png,
data.png, error.png.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..errors import SirenError
from ..fields.grid import mesh, network_on_grid, resample
from ..fields.pml import PML_WIDTH, pml_operator, pml_stretch
from ..fields.speed import PRESETS, speed_model
from ..metrics import relative_l2
from ..options import option
from ..problem import Observation, Points, Problem, Rectangle, Residual
from ..runtime import require_points
from ..solvers import background_field
from ..solvers.helmholtz import require_resolved, require_solvable
from ..solvers.fwi import BOX, AdjointFWI, check_points, read_receiver_data, reference_geometry, synthesize
from ..viz.fields import receiver_data_figure, velocity_figure
from .base import Output, register
from .solve import SolveTask

LOG_M = (math.log(0.01), math.log(100.0))        # q is clamped to these: c in [0.1, 10]
NEAR_STD = 0.05                                   # std of the pool's points around the receivers


@dataclass
class FWIConfig:
    velocity: str = option("circle", f"true speed model: {', '.join(PRESETS)} (c = 2 inside a square or circle) or "
                           "a .npy file of c over [-1, 1]^2 (axis 0 = x, grid with endpoints, c in [0.1, 10])")
    data: str | None = option(None, "the reference code's receiver data (.mat with source, receivers, rec_val; "
                              "amplitude 1+1j) instead of synthesizing them; --velocity, --sources and --receivers "
                              "are then taken from the file", metavar="FILE.mat")
    k: float = option(20.0, "wavenumber (omega / c0)")
    sources: int = option(5, "sources evenly spaced on x in [-0.347, 0.347] at y = -0.347")
    receivers: int = option(30, "receivers over three lines: top y = 0.402, left and right x = -+0.402")
    batch: int = option(1024, "collocation points per step, drawn from the pool", aliases=("--points",))
    pool: int = option(65_536, "fixed pool of collocation points (u0 precomputed there): 1/4 uniform in [-1, 1]^2, "
                       "1/2 in [-0.5, 0.5]^2, 1/4 around the receivers")
    data_weight: float = option(10.0, "weight of the receiver-data term (the residual's is 1)")
    n: int = option(256, "grid of the synthetic data, of the outputs and of the scores (points per axis)")
    baseline_n: int = option(135, "grid of the adjoint-state baseline (points per axis; 135 resolves the source)")
    baseline_iters: int = option(100, "L-BFGS-B iterations of the baseline")


@register
class FWITask(SolveTask):
    """Full-waveform inversion with a SIREN (see the module docstring)."""

    name = "fwi"
    help = ("full-waveform inversion: velocity and wavefields from receiver data, with an adjoint-state baseline "
            "(networks 128 wide, SIREN first omega_0 10)")
    Config = FWIConfig
    train_defaults = {"steps": 14_000, "lr": 3e-4, "schedule": "cosine", "log_every": 500}
    metric_name = "velocity_mse"
    goals = {"velocity_mse": "min", "data_misfit": "min", "wavefield_rel_l2": "min"}
    data_parallel = False
    width, first_frequency = 128, 10.0     # suggested width (3 hidden layers as usual) and sine first-layer omega_0

    def __init__(self, k: float, sources: np.ndarray, receivers: np.ndarray, data: np.ndarray,
                 c_true: np.ndarray | None = None, amplitude: complex = 1.0, points: int = 1024,
                 pool: int = 65_536, data_weight: float = 10.0, baseline_n: int = 135, baseline_iters: int = 100,
                 velocity: str = "circle", n: int = 256):
        """sources (S, 2), receivers (R, 2), data (R, S) complex; c_true (n, n) on the output grid
        linspace(-1, 1, n)^2, or None when unknown."""
        if not (np.isfinite(k) and k > 0):
            raise SirenError(f"must be a positive number, got {k}", field="k")
        if points < 16 or pool < points:
            raise SirenError(f"must be at least 16 and at most --pool, got {points} and {pool}", field="batch")
        require_points(pool, "pool", "pool points")
        if not (np.isfinite(data_weight) and data_weight > 0):
            raise SirenError(f"must be positive, got {data_weight}", field="data_weight")
        if int(baseline_iters) != baseline_iters or baseline_iters < 0:
            raise SirenError(f"must be an integer >= 0, got {baseline_iters}", field="baseline_iters")
        self.k, self.amplitude, self.velocity = float(k), complex(amplitude), velocity
        self.sources = check_points(sources, "sources", 1 - PML_WIDTH)
        self.receivers = check_points(receivers, "receivers", 1 - PML_WIDTH)
        self.data = np.asarray(data, complex)
        self.scale = float(np.mean(np.abs(self.data) ** 2))
        if not self.scale > 0:
            raise SirenError("the receiver data are all zero: check the sources, receivers and --n")
        self.c_true, self.n = c_true, int(n)
        self.points, self.data_weight = int(points), float(data_weight)
        self.baseline_n, self.baseline_iters = int(baseline_n), int(baseline_iters)
        self.x, _, _ = mesh(self.n)
        self.inner = np.flatnonzero(np.abs(self.x) <= 1 - PML_WIDTH + 1e-9)
        self.probe = self.inner[::4]
        rng, quarter = np.random.default_rng(0), int(pool) // 4
        xy = np.concatenate([rng.uniform(-1, 1, (int(pool) - 3 * quarter, 2)),
                             rng.uniform(-(1 - PML_WIDTH), 1 - PML_WIDTH, (2 * quarter, 2)),
                             self.receivers[rng.integers(len(self.receivers), size=quarter)]
                             + NEAR_STD * rng.normal(size=(quarter, 2))]).clip(-1, 1)
        self.rec = torch.from_numpy(self.receivers).float()
        self.target = torch.from_numpy(self.data - self._background(self.receivers).numpy())   # d - u0, (R, S)
        self.names = [f"{part}{j}" for j in range(len(self.sources)) for part in ("re", "im")]
        scattered = torch.stack([self.target.real, self.target.imag], -1).reshape(len(self.receivers), -1)
        pool = Points(xy, data={"u0": self._background(xy)}, batch=self.points)      # u0: (pool, S) complex128
        super().__init__(Problem(Rectangle([-1, -1], [1, 1]), outputs=(*self.names, "q"), constraints={
            "residual": Residual(self.residual, on=pool),
            "data": Observation(self.receivers, scattered, outputs=self.names,
                                weight=2 * self.data_weight / self.scale)}), scored=False)

    @classmethod
    def from_config(cls, config: FWIConfig) -> FWITask:
        if config.n < 32:
            raise SirenError(f"must be at least 32, got {config.n}", field="n")
        if not (np.isfinite(config.k) and config.k > 0):
            raise SirenError(f"must be a positive number, got {config.k}", field="k")
        require_solvable(config.n)
        require_solvable(config.baseline_n, "baseline_n")
        require_resolved(config.k, config.baseline_n, field="baseline_n")         # the baseline starts at c = 1
        common = dict(points=config.batch, pool=config.pool, data_weight=config.data_weight,
                      baseline_n=config.baseline_n, baseline_iters=config.baseline_iters)
        if config.data is not None:
            if not Path(config.data).is_file():
                raise SirenError(f"receiver data file not found: {config.data}")
            sources, receivers, data = read_receiver_data(config.data)
            require_resolved(config.k, config.n)
            return cls(config.k, sources, receivers, data, None, 1 + 1j, velocity=Path(config.data).name,
                       n=config.n, **common)
        sources, receivers = reference_geometry(config.sources, config.receivers)
        c = speed_model(config.velocity, config.n)
        require_resolved(config.k, config.n, float(c.min()))
        data, _ = synthesize(config.k, c ** -2.0, sources, receivers)
        return cls(config.k, sources, receivers, data, c, 1.0, velocity=config.velocity, n=config.n, **common)

    def model_hints(self) -> dict:
        return {"hidden_features": self.width, "first_omega_0": self.first_frequency}

    def _background(self, xy: np.ndarray) -> torch.Tensor:
        """u0 of every source at points (N, 2) -> complex128 (N, S)."""
        return torch.from_numpy(np.stack([background_field(xy[:, 0], xy[:, 1], self.k, s, self.amplitude)
                                          for s in self.sources], 1))

    def to(self, device):
        self.rec, self.target = self.rec.to(device), self.target.to(device)
        return super().to(device)

    @staticmethod
    def slowness(q: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """m of the module docstring from the network's q (N,) at points xy (N, 2)."""
        inside = xy.abs().amax(-1) <= BOX
        return torch.where(inside, q.clamp(*LOG_M).exp(), torch.ones_like(q))

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        """(N, 2 S + 1, ...) channels -> complex128 (N, S, ...) of the scattered fields."""
        return torch.complex(t[:, 0:-1:2], t[:, 1:-1:2]).to(torch.complex128)

    def residual(self, v) -> torch.Tensor:
        """(L_m u_s,j + e_x e_y (m - 1) k^2 u0_j) / (k^2 sqrt(D)) at the view's points -> complex128 (N, S)."""
        def fields(read):
            return torch.stack([torch.complex(read(self.names[2 * j]), read(self.names[2 * j + 1]))
                                for j in range(len(self.sources))], 1).to(torch.complex128)
        us, ux, uy = fields(lambda n: v[n]), fields(lambda n: v.d(n, "x")), fields(lambda n: v.d(n, "y"))
        uxx, uyy = fields(lambda n: v.d(n, "x", "x")), fields(lambda n: v.d(n, "y", "y"))
        x, y = v.x.double()[:, None], v.y.double()[:, None]
        m = self.slowness(v.q, torch.stack([v.x, v.y], 1)).double()[:, None]
        ex_ey = pml_stretch(x)[0] * pml_stretch(y)[0]
        residual = pml_operator(us, ux, uy, uxx, uyy, x, y, m, self.k) + ex_ey * (m - 1) * self.k ** 2 * v.data["u0"]
        return residual / (self.k ** 2 * self.scale ** 0.5)

    def velocity_on(self, model, idx: np.ndarray | None = None) -> np.ndarray:
        """The SIREN's speed c = m^(-1/2) on the grid points x[idx] x x[idx] (default all) -> (len, len)."""
        X, _, xy, out = network_on_grid(model, self.x if idx is None else self.x[idx])
        return (self.slowness(out[:, -1], xy).numpy() ** -0.5).reshape(X.shape)

    def _mse(self, c: np.ndarray, idx: np.ndarray) -> float:
        return float(np.mean((c - self.c_true[np.ix_(idx, idx)]) ** 2))

    def _receiver_residual(self, model) -> torch.Tensor:
        """u(r) - d = u_s(r) - (d - u0(r)) at the receivers -> complex128 (R, S)."""
        return self._split(model(self.rec.to(next(model.parameters())))) - self.target

    def misfit(self, model) -> np.ndarray:
        """u(r) - d at the receivers -> complex (R, S)."""
        with torch.no_grad():
            return self._receiver_residual(model).cpu().numpy()

    def relative_misfit(self, residual: np.ndarray) -> float:
        """sum |r|^2 / sum |d|^2 of receiver residuals r (R, S)."""
        return float(np.mean(np.abs(residual) ** 2) / self.scale)

    def data_misfit(self, model) -> float:
        """sum |u(r) - d|^2 / sum |d|^2 over receivers and sources."""
        return self.relative_misfit(self.misfit(model))

    def evaluate(self, model) -> dict:
        scores = {"data_misfit": self.data_misfit(model)}
        if self.c_true is not None:
            scores["velocity_mse"] = self._mse(self.velocity_on(model, self.probe), self.probe)
        return scores

    def fields(self, model) -> np.ndarray:
        """The SIREN's total fields u0_j + u_s,j on the n x n grid -> complex (S, n, n)."""
        _, _, xy, out = network_on_grid(model, self.x)
        return (self._split(out) + self._background(xy.numpy())).numpy().T.reshape(-1, self.n, self.n)

    def baseline(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The adjoint-state baseline on the same data: (c (n, n) resampled to the output grid, its FD data (R, S)
        on its own grid, seconds)."""
        t0 = time.perf_counter()
        fwi = AdjointFWI(self.baseline_n, self.k, self.sources, self.receivers, self.data, self.amplitude)
        m, _ = fwi.run(self.baseline_iters)
        data, _ = synthesize(self.k, m, self.sources, self.receivers, self.amplitude)
        return resample(m ** -0.5, self.n), data, time.perf_counter() - t0

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir = Path(out_dir)
        c_siren = self.velocity_on(model)
        c_base, data_base, seconds = self.baseline()
        u = self.fields(model)
        c_ref = c_siren if self.c_true is None else self.c_true
        u_solver = synthesize(self.k, c_ref ** -2.0, self.sources, self.receivers, self.amplitude)[1]
        c_true = np.full_like(c_siren, np.nan) if self.c_true is None else self.c_true
        box = np.ix_(self.inner, self.inner)
        result = {"data_misfit_siren": self.data_misfit(model),
                  "data_misfit_baseline": self.relative_misfit(data_base - self.data),
                  "wavefield_rel_l2": relative_l2(u[(slice(None), *box)], u_solver[(slice(None), *box)]),
                  "baseline_seconds": seconds, "k": self.k, "velocity": self.velocity}
        if self.c_true is not None:
            result["velocity_mse"] = result["velocity_mse_siren"] = self._mse(c_siren[box], self.inner)
            result["velocity_mse_baseline"] = self._mse(c_base[box], self.inner)
        np.savez(out_dir / "velocity.npz", c_true=c_true, c_siren=c_siren, c_baseline=c_base, x=self.x, y=self.x,
                 sources=self.sources, receivers=self.receivers)
        np.savez(out_dir / "wavefield.npz", u=u, x=self.x, y=self.x, k=self.k, source=self.sources,
                 receivers=self.receivers, m=c_siren ** -2.0, u_solver=u_solver)
        velocity_figure(self.x, c_true, c_siren, c_base, self.sources, self.receivers, result,
                        out_dir / "velocity.png")
        receiver_data_figure(self.data, self.data + self.misfit(model), data_base, out_dir / "data.png")
        key = "velocity_mse" if self.c_true is not None else "data_misfit"
        viz.curve(history, key, out_dir / "error.png", ylabel=key.replace("_", " ") + " (SIREN)")
        solver = "the true velocity" if self.c_true is not None else "the SIREN's velocity (true one unknown)"
        return result, [
            Output("velocity.png", "figure", "speed c: true, SIREN, adjoint-state baseline and their errors over "
                   "[-0.5, 0.5]^2; sources (stars) and receivers (triangles)"),
            Output("data.png", "figure", "receiver data (real and imaginary part, receivers of every source in a "
                   "row): observed, SIREN, baseline"),
            Output("error.png", "figure", f"{key.replace('_', ' ')} of the SIREN by training step"),
            Output("velocity.npz", "field", f"c_true, c_siren, c_baseline ({self.n} x {self.n}, axis 0 = x; "
                   "c_true NaN when unknown), x, y, sources, receivers"),
            Output("wavefield.npz", "field", f"u (S, {self.n}, {self.n}) total fields of the SIREN for all S = "
                   f"{len(self.sources)} sources (axis 1 = x), u_solver (same shape, FD in {solver}), x, y, k, "
                   "source (S, 2), receivers, m (the SIREN's)")]

    def meta(self) -> dict:
        return {"task": self.name, "k": self.k, "velocity": self.velocity, "n": self.n,
                "sources": self.sources.tolist(), "receivers": self.receivers.tolist(),
                "amplitude": [self.amplitude.real, self.amplitude.imag]}

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--k", "6", "--n", "33", "--batch", "64", "--pool", "256", "--sources", "2", "--receivers", "4",
                "--baseline-n", "33", "--baseline-iters", "2"]
