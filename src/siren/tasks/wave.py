"""`siren wave`: the time-domain wave equation from its initial conditions alone, scored against FDTD.

Problem (the conventions of `siren.solvers.wave`):

    u_tt = c(x)^2 (u_xx + u_yy)   on t in [0, T], (x, y) in [-1, 1]^2,
    u(0, x) = exp(-|x - x0|^2 / (2 sigma^2)),   u_t(0, x) = 0,   u = 0 on the border of the square.

The speed c is a constant or a .npy file of c over [-1, 1]^2 (axis 0 = x, a grid with endpoints, read bilinearly;
c in [0.1, 10]). Nothing but these conditions is supervised: the network never sees a solution.

Network input (tau, x, y) with tau = c_max t - 1 (c_max the largest speed): time is measured in the time the
fastest wave takes to cross one unit of space, so a wave has the same frequencies along tau as along x and y
(omega = c k) and a first layer that suits space suits time too; t = 0 sits at the network's edge tau = -1, like
the other axes' edges (defaults: tau in [-1, -0.5]). By the chain rule u_t = c_max u_tau, u_tt = c_max^2 u_tautau.
(Mapping [0, T] onto [-1, 1] instead stretches time 4x for the defaults; it trained markedly worse.)

Loss (step k, each term a mean over points drawn afresh every step):

    ic_value     (u(0, x) - u0(x))^2                         x: half uniform, half N(x0, (2 sigma)^2)
    ic_velocity  (sigma / c(x) * u_t(0, x))^2                 same points; u_t scaled by its natural c / sigma
    residual     (sigma^2 (u_tt / c^2 - u_xx - u_yy))^2       t ~ U(0, w_k); x: `cone` of them uniform in the disk
                                                              |x - x0| < c_max t + 4 sigma (where the wave is), the
                                                              rest uniform in the square
    boundary     u^2 on the border, t ~ U(0, w_k)             (the FDTD's Dirichlet walls)

Posed as a `siren.problem.Problem` over the box (t, x, y) in [0, T] x [-1, 1]^2 with box={"t": (0, 2 / c_max)} (the
network's tau above), one constraint per term, each with the task's own sampler (ic_velocity reads the points
ic_value drew), trained through the solve task's loop.

The residual is divided by c^2 and multiplied by sigma^2, the scale of the initial Laplacian, so all four terms
are O(1) for an O(1) error of the wave; the initial-condition and boundary terms carry `ic_weight`, the residual 1.

Curriculum (the paper's): the residual's time window w_k is 0 during `pretrain` steps (the initial conditions and
the residual at t = 0 only), then widens linearly to T over a share `ramp` of the remaining steps and stays there:
    w_k = T * clip((k - pretrain) / (ramp * (steps - pretrain)), 0, 1).
`steps` is the run's number of training steps; it is part of the task state kept in the checkpoint, so a resumed
run keeps its schedule (as the learning-rate schedule does) and continues exactly as an uninterrupted one.

Defaults: a network 128 wide with 3 hidden layers (`model_options`), 2,000 residual and 1,000 initial-condition
points a step, ic_weight 3, pretrain 200 steps, ramp 0.6, Adam 3e-4 with cosine decay over 6,000 steps, SIREN's
usual omega_0 = 30; docs/wave.md says how they were chosen and what they reach.

Scores: relative L2 error ||u - u_fdtd|| / ||u_fdtd|| over the grid at each frame time (default 0, 0.1, ..., T:
0.1, 0.2 and 0.4 included). At log steps on a coarse grid against a cached FDTD solution (cheap), at the end on the
n x n output grid. FDTD: `siren.solvers.wave_fdtd` on a grid refined to at least `solver_points` (512) points per
axis.

Files: wavefield.npz (t, x, y, u, u_solver with axis order (t, x, y), speed (n, n), source, sigma, duration),
frames.png (SIREN, FDTD and their difference at the frame times), wave.mp4 (SIREN | FDTD | difference over
[0, T]; wave.gif when imageio-ffmpeg is not installed), error.png (relative L2 against step). The difference is
shown magnified by a power of ten (1 to 1000, in the figure's label and the video's caption) so that small errors
stay visible.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import diff
from ..problem import Box, Dirichlet, Problem, Residual
from ..data.video import save_video, video_path
from ..errors import SirenError
from ..fields.grid import CHUNK, mesh
from ..fields.sources import check_source, gaussian_pulse, parse_point
from ..fields.speed import Speed, parse_speed
from ..metrics import relative_l2
from ..options import option
from ..runtime import require_memory, require_points
from ..solvers import wave_fdtd
from ..viz.fields import difference_gain, error_curves_figure, video_frame, wave_frames_figure
from .base import Output, register
from .solve import SolveTask

DEFAULT_TIMES = (0.1, 0.2, 0.4)          # frame times always scored (kept when within [0, T])
EVAL_POINTS = 65                         # points per axis of the grid scored at log steps
VIDEO_FRAMES, VIDEO_FPS, VIDEO_POINTS = 51, 25, 256


@dataclass
class WaveConfig:
    speed: str = option("1", "wave speed c: a number, or a .npy file of c over [-1, 1]^2 (axis 0 = x, grid with "
                        "endpoints, bilinear), c in [0.1, 10]", metavar="C|FILE.npy")
    source: str = option("0,0", "centre x0,y0 of the initial Gaussian, inside [-1, 1]^2", metavar="X,Y")
    sigma: float = option(0.1, "standard deviation of the initial Gaussian u(0) = exp(-|x - x0|^2 / 2 sigma^2)")
    duration: float = option(0.5, "final time T")
    n: int = option(256, "output grid: n x n points per frame (linspace(-1, 1, n))")
    frames: str | None = option(None, "frame times, comma-separated (default 0, 0.1, ..., T and 0.1, 0.2, 0.4)",
                                metavar="T1,T2,...")
    batch: int = option(2000, "residual points per step", aliases=("--points",))
    ic_points: int = option(1000, "initial-condition points per step (t = 0)")
    ic_weight: float = option(3.0, "weight of the initial-condition and boundary terms (the residual's is 1)")
    pretrain: int = option(200, "curriculum: steps on the initial conditions (and t = 0) before time widens")
    ramp: float = option(0.6, "curriculum: share of the remaining steps over which the time window widens to T")
    cone: float = option(0.5, "share of residual points drawn where the wave can be (|x - x0| < c_max t + 4 sigma)")
    solver_points: int = option(512, "the FDTD reference runs on a grid refined to at least this many points per axis")


def parse_times(text: str | None) -> list[float] | None:
    """'0.1,0.2' -> [0.1, 0.2]; None -> None."""
    if text is None:
        return None
    try:
        return [float(v) for v in str(text).split(",")]
    except ValueError:
        raise SirenError(f"{text!r} must be comma-separated times (e.g. --frames 0.1,0.2,0.4)", field="frames") from None


def run_bytes(n: int, solver_points: int, frames: int) -> int:
    """About the peak bytes of a wave run: the FDTD grid (refined to fewer than solver_points + n points per
    axis; about 12 float64 arrays) and `frames` frames of n x n (reference, prediction, figure and video copies)."""
    g = solver_points + n
    return 96 * g * g + 64 * frames * n * n


def default_times(duration: float) -> list[float]:
    """0, 0.1, ..., T (6 frames when that would be more than 11) and DEFAULT_TIMES' 0.1, 0.2, 0.4 when <= T."""
    grid_times = np.arange(0.0, duration + 1e-9, 0.1) if duration <= 1.0 + 1e-9 else np.linspace(0, duration, 6)
    times = np.r_[grid_times, duration, [t for t in DEFAULT_TIMES if t <= duration]]
    return sorted({round(float(t), 10) for t in times})


def time_key(t: float) -> str:
    """Metric name of the relative L2 at time t, e.g. rel_l2_t0.1."""
    return f"rel_l2_t{t:g}"


@register
class WaveTask(SolveTask):
    """The wave equation u_tt = c^2 (u_xx + u_yy) from u(0) = u0, u_t(0) = 0, u = 0 on the border (module docstring).

    speed: a constant or an (a, b) array of c over [-1, 1]^2; source (x0, y0) and sigma: the Gaussian u0 (or pass
    `initial`, a function xy (N, 2) -> (N, 1) of torch tensors and numpy arrays, e.g. for tests); duration T;
    n: output grid; frames: frame times in [0, T]; steps: the run's training steps (the curriculum's length).
    """

    name = "wave"
    help = "solve the wave equation from its initial conditions, scored against FDTD (networks 128 wide)"
    Config = WaveConfig
    train_defaults = {"steps": 6000, "lr": 3e-4, "schedule": "cosine", "log_every": 100}
    metric_name, goals = "rel_l2", {"rel_l2": "min"}
    needs_steps = True         # the curriculum's length is the run's number of steps
    data_parallel = False
    width = 128                # the suggested width of every network (3 hidden layers as usual): see model_hints

    def __init__(self, speed: float | np.ndarray = 1.0, source=(0.0, 0.0), sigma: float = 0.1,
                 duration: float = 0.5, n: int = 256, frames=None, points: int = 2000, ic_points: int = 1000,
                 ic_weight: float = 3.0, pretrain: int = 200, ramp: float = 0.6, cone: float = 0.5,
                 solver_points: int = 512, steps: int | None = None, initial: Callable | None = None,
                 eval_points: int = EVAL_POINTS):
        if not (math.isfinite(sigma) and sigma > 0):
            raise SirenError(f"{sigma} must be positive: it is the initial Gaussian's standard deviation", field="sigma")
        if not (math.isfinite(duration) and duration > 0):
            raise SirenError(f"{duration} must be positive: it is the final time T", field="duration")
        if int(n) != n or n < 8:
            raise SirenError(f"{n} must be an integer >= 8 (points per axis of the output grid)", field="n")
        for flag, value in (("--batch", points), ("--ic-points", ic_points), ("--solver-points", solver_points)):
            if int(value) != value or value < 1:
                raise SirenError(f"{flag} {value} must be a positive integer")
        for flag, value, ok in (("--ic-weight", ic_weight, ic_weight > 0), ("--pretrain", pretrain, pretrain >= 0),
                                ("--ramp", ramp, 0 <= ramp <= 1), ("--cone", cone, 0 <= cone <= 1)):
            if not ok:
                raise SirenError(f"{flag} {value} is out of range (ic-weight > 0, pretrain >= 0, ramp and cone "
                                 f"in [0, 1])")
        self.source = check_source(source)
        self.speed = speed if isinstance(speed, Speed) else Speed(speed)
        self.sigma, self.duration, self.n = float(sigma), float(duration), int(n)
        times = default_times(self.duration) if frames is None else sorted({float(t) for t in frames})
        if not times or min(times) < 0 or max(times) > self.duration * (1 + 1e-9) or not all(map(math.isfinite, times)):
            raise SirenError(f"frame times {times} must lie in [0, T = {self.duration:g}] (fix --frames or --duration)")
        self.times = times
        require_memory(lambda v: run_bytes(8, v, len(times)), solver_points, f"an FDTD grid of {solver_points} x {solver_points}",
                       "solver_points")
        require_memory(lambda v: run_bytes(v, solver_points, len(times)), n, f"{len(times)} frames of {n} x {n}", "n")
        require_points(points, "batch")
        require_points(ic_points, "ic_points")
        step = 2 / (solver_points - 1) if solver_points > 1 else 2.0         # the FDTD grid's step, at most
        if initial is None and sigma < step:                                 # the grid must resolve u(0)
            raise SirenError(f"{sigma:g} is not resolved by the FDTD grid: its step on --solver-points "
                             f"{solver_points} is {step:.3g}, larger than sigma (pass --sigma at least {step:.3g}, "
                             f"or --solver-points at least {math.ceil(2 / sigma) + 1})", field="sigma")
        self.points, self.ic_points, self.ic_weight = int(points), int(ic_points), float(ic_weight)
        self.pretrain, self.ramp, self.cone = int(pretrain), float(ramp), float(cone)
        self.total_steps, self.solver_points = steps, int(solver_points)
        self.initial = initial or gaussian_pulse(self.source, self.sigma)
        self.is_gaussian = initial is None
        self.device = torch.device("cpu")
        self._window, self._step = 0.0, 0
        self.eval_points = min(int(eval_points), self.n)
        x, X, Y = mesh(self.eval_points)
        self._eval_xy = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], 1)).float()
        self._eval_ref = self.solve_fdtd(self.eval_points, self.times).reshape(len(self.times), -1)
        self._ic = None                     # this step's initial-condition points (ic_value's, read by ic_velocity)
        w = self.ic_weight
        super().__init__(Problem(Box([0, -1, -1], [self.duration, 1, 1]), inputs=("t", "x", "y"), outputs="u",
                                 box={"t": (0.0, 2 / self.time_scale)}, constraints={
            "ic_value": Residual(lambda v: v.u - self.initial(self._xy(v))[:, 0], points=self.ic_points,
                                 sampler=self._ic_sampler, weight=w),
            "ic_velocity": Residual(lambda v: self.sigma / self.speed.at(self._xy(v))[:, 0] * v.d("u", "t"),
                                    points=self.ic_points, sampler=lambda n, gen, step: self._ic, weight=w),
            "residual": Residual(self.residual, points=self.points, sampler=self._residual_sampler),
            "boundary": Dirichlet("u", 0.0, points=max(4, self.points // 8), sampler=self._boundary_sampler,
                                  weight=w)}), scored=False)

    @classmethod
    def from_config(cls, config: WaveConfig, steps: int | None = None) -> WaveTask:
        return cls(parse_speed(config.speed), parse_point(config.source), config.sigma, config.duration, config.n,
                   parse_times(config.frames), config.batch, config.ic_points, config.ic_weight, config.pretrain,
                   config.ramp, config.cone, config.solver_points, steps=steps)

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        np.save(folder / "speed.npy", np.array([[1.0, 1.0, 1.0], [1.0, 1.5, 1.0], [1.0, 1.0, 1.2]]))
        return ["--speed", str(folder / "speed.npy"), "--n", "12", "--batch", "64", "--ic-points", "32",
                "--pretrain", "1", "--duration", "0.3", "--solver-points", "48"]

    def model_hints(self) -> dict:
        """Networks 128 wide by default (--hidden-features overrides; docs/wave.md: why not the usual 256)."""
        return {"hidden_features": self.width}

    # ---- units ----------------------------------------------------------------------------------------------
    @property
    def time_scale(self) -> float:
        """d tau / d t = c_max: the network's time input is tau = time_scale * t - 1."""
        return self.speed.max

    def network_time(self, t: torch.Tensor | float):
        """Physical time t -> the network's time input tau = c_max t - 1."""
        return self.time_scale * t - 1.0

    def inputs(self, t: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """t (N, 1), xy (N, 2) -> network input (N, 3) = (tau, x, y)."""
        return torch.cat([self.network_time(t), xy], dim=1)

    # ---- curriculum -----------------------------------------------------------------------------------------
    def window(self, step: int) -> float:
        """The residual's time window [0, w] at `step` (steps taken so far); see the module docstring."""
        if step < self.pretrain:
            return 0.0
        span = self.ramp * ((self.total_steps or self.pretrain) - self.pretrain)
        return self.duration if span <= 0 else self.duration * min(1.0, (step - self.pretrain) / span)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "steps": self.total_steps, "window": self._window, "step": self._step}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if state.get("steps") is not None:
            self.total_steps = int(state["steps"])
        self._window, self._step = float(state.get("window", 0.0)), int(state.get("step", 0))

    # ---- loss -----------------------------------------------------------------------------------------------
    def to(self, device):
        self.device = torch.device(device)
        self._eval_xy, self._eval_ref = self._eval_xy.to(device), self._eval_ref.to(device)
        return super().to(device)

    def _uniform(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(n, 2, generator=generator) * 2 - 1

    def sample_ic(self, generator: torch.Generator, n: int) -> torch.Tensor:
        """Initial-condition points (n, 2): half uniform in the square, half N(x0, (2 sigma)^2) (clamped)."""
        near = n // 2
        centre = torch.tensor(self.source)
        gauss = centre + 2 * self.sigma * torch.randn(near, 2, generator=generator)
        return torch.cat([self._uniform(n - near, generator), gauss]).clamp(-1, 1)

    def sample_residual(self, window: float, generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Residual points: t (n, 1) ~ U(0, window); xy (n, 2), a share `cone` uniform in the disk
        |x - x0| < c_max t + 4 sigma (clamped to the square), the rest uniform in the square."""
        t = window * torch.rand(n, 1, generator=generator)
        k = int(round(self.cone * n))
        radius = (self.speed.max * t[:k] + 4 * self.sigma) * torch.rand(k, 1, generator=generator).sqrt()
        angle = 2 * math.pi * torch.rand(k, 1, generator=generator)
        disk = torch.tensor(self.source) + radius * torch.cat([torch.cos(angle), torch.sin(angle)], 1)
        return t, torch.cat([disk.clamp(-1, 1), self._uniform(n - k, generator)])

    def sample_boundary(self, window: float, generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Border points: t (n, 1) ~ U(0, window), xy on the four sides (n = max(4, points // 8) in training)."""
        t = window * torch.rand(n, 1, generator=generator)
        s = torch.rand(n, generator=generator) * 2 - 1
        side = torch.randint(4, (n,), generator=generator)
        fixed = torch.where(side % 2 == 0, -1.0, 1.0)
        xy = torch.where((side < 2)[:, None], torch.stack([fixed, s], 1), torch.stack([s, fixed], 1))
        return t, xy

    @staticmethod
    def _xy(v) -> torch.Tensor:
        return torch.stack([v.x, v.y], 1)

    def _ic_sampler(self, n: int, generator: torch.Generator, step: int) -> torch.Tensor:
        xy = self.sample_ic(generator, n)
        self._ic = torch.cat([torch.zeros_like(xy[:, :1]), xy], 1)
        return self._ic

    def _residual_sampler(self, n: int, generator: torch.Generator, step: int) -> torch.Tensor:
        return torch.cat(self.sample_residual(self._window, generator, n), 1)

    def _boundary_sampler(self, n: int, generator: torch.Generator, step: int) -> torch.Tensor:
        return torch.cat(self.sample_boundary(self._window, generator, n), 1)

    def residual(self, v) -> torch.Tensor:
        """sigma^2 (u_tt / c^2 - u_xx - u_yy) at the view's points -> (N,)."""
        c2 = self.speed.at(self._xy(v))[:, 0] ** 2
        return self.sigma**2 * (v.laplacian("u", ("t",)) / c2 - v.laplacian("u", ("x", "y")))

    def terms(self, model, window: float, generator: torch.Generator) -> dict:
        """The loss terms {name: (raw, weight)} with the residual's time window [0, window] (module docstring)."""
        self._window = window
        return self.problem.terms(self.models(model), generator)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        self._window, self._step = self.window(step), step
        return super().loss(model, step, generator)

    # ---- reference and evaluation ---------------------------------------------------------------------------
    def solve_fdtd(self, n: int, times) -> torch.Tensor:
        """FDTD frames (len(times), n, n) float32 on linspace(-1, 1, n)^2 at `times`, solved on a grid refined to
        at least `solver_points` points per axis (u0 and c evaluated there)."""
        refine = max(1, math.ceil((self.solver_points - 1) / (n - 1)))
        u = wave_fdtd(n, times, self.speed.on_mesh, refine=refine, initial=self.initial)[2]
        return torch.from_numpy(u).float()

    @torch.no_grad()
    def predict(self, model, times, n: int, chunk: int = CHUNK) -> torch.Tensor:
        """The network's u (len(times), n, n) on linspace(-1, 1, n)^2 at physical times, axis order (t, x, y)."""
        p = next(model.parameters())
        _, X, Y = mesh(n)
        xy = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], 1)).to(p)
        frames = []
        for t in times:
            coords = self.inputs(torch.full_like(xy[:, :1], float(t)), xy)
            frames.append(torch.cat([diff.inference(model, c) for c in coords.split(chunk)])[:, 0].reshape(n, n))
        return torch.stack(frames)

    def evaluate(self, model) -> dict:
        pred = self.predict(model, self.times, self.eval_points).reshape(len(self.times), -1)
        errs = [relative_l2(p.cpu().numpy(), r.cpu().numpy()) for p, r in zip(pred, self._eval_ref)]
        return {**self.scores(errs), "window": self._window}

    def scores(self, errs: list) -> dict:
        """Per-frame relative L2 errors -> {"rel_l2": the worst over frames t > 0, "rel_l2_t<t>": each frame's}."""
        scored = [e for t, e in zip(self.times, errs) if t > 0] or errs
        return {"rel_l2": max(scored), **{time_key(t): e for t, e in zip(self.times, errs)}}

    def meta(self) -> dict:
        speed = self.speed.constant if self.speed.array is None else f"array {list(self.speed.array.shape)}"
        return {"task": self.name, "speed": speed, "speed_range": [self.speed.min, self.speed.max],
                "source": list(self.source), "sigma": self.sigma, "duration": self.duration,
                "initial": "gaussian" if self.is_gaussian else "custom", "frames": self.times,
                "network_time": f"tau = {self.time_scale:g} t - 1"}

    # ---- outputs --------------------------------------------------------------------------------------------
    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir, n = Path(out_dir), self.n
        u = self.predict(model, self.times, n).cpu().numpy()
        ref = self.solve_fdtd(n, self.times).numpy()
        x, X, Y = mesh(n)
        speed = self.speed.on_mesh(X, Y)
        np.savez_compressed(out_dir / "wavefield.npz", t=np.asarray(self.times), x=x, y=x.copy(),
                            u=u.astype(np.float32), u_solver=ref.astype(np.float32), speed=speed,
                            source=np.asarray(self.source), sigma=np.float64(self.sigma),
                            duration=np.float64(self.duration))
        errs = [relative_l2(a, b) for a, b in zip(u, ref)]
        wave_frames_figure(self.times, u, ref, errs, speed if self.speed.array is not None else None,
                           out_dir / "frames.png")
        video, kind = self.write_video(model, out_dir)
        error_curves_figure(history, {f"t = {t:g}": time_key(t) for t in self.times if t > 0}, out_dir / "error.png",
                            "relative L2 vs FDTD")
        result = {**self.scores(errs), "frame_times": list(self.times), "grid": n, "speed_min": self.speed.min,
                  "speed_max": self.speed.max}
        shown = ", ".join(f"{e:.1%} at t = {t:g}" for t, e in zip(self.times, errs) if t in DEFAULT_TIMES)
        return result, [
            Output("wavefield.npz", "field", f"SIREN u and FDTD u_solver, axis order (t, x, y), {len(self.times)} "
                   f"frames on a {n} x {n} grid, with speed, source, sigma"),
            Output("frames.png", "figure", f"SIREN, FDTD and their difference at the frame times; relative L2 "
                   f"{shown or f'max {max(errs):.1%}'}"),
            Output(video, "video", f"SIREN | FDTD | difference over [0, {self.duration:g}] ({kind})"),
            Output("error.png", "figure", "relative L2 error against FDTD per frame time, against training step")]

    def write_video(self, model, out_dir: Path) -> tuple[str, str]:
        """wave.mp4 (H.264 via imageio-ffmpeg) or, without it, wave.gif: SIREN | FDTD | difference at
        VIDEO_FRAMES times over [0, T], each frame scaled by the FDTD frame's peak. Returns (file name, note)."""
        n = min(self.n, VIDEO_POINTS)
        times = np.linspace(0.0, self.duration, VIDEO_FRAMES)
        u, ref = self.predict(model, times, n).cpu().numpy(), self.solve_fdtd(n, times).numpy()
        gain = difference_gain(u, ref)
        path = video_path(Path(out_dir) / "wave.mp4")
        save_video(path, (video_frame(a, b, gain) for a, b in zip(u, ref)), VIDEO_FPS)
        kind = (f"MP4, {VIDEO_FRAMES} frames at {VIDEO_FPS} fps" if path.suffix == ".mp4" else
                "GIF: imageio-ffmpeg is not installed (pip install 'siren-inr[media]' for MP4)")
        return path.name, f"difference x {gain:g}; {kind}"
