"""`siren wave`: loss terms vanish on an exact solution, the curriculum and its resume, wavefield.npz, bad input."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from siren.cli import main
from siren.errors import SirenError
from siren.fields.speed import Speed
from siren.models import build_model
from siren.solvers import wave_fdtd
from siren.tasks.wave import WaveTask, default_times
from siren.train import TrainConfig, fit

TINY = ["--hidden-features", "16", "--hidden-layers", "1", "--no-progress"]
SMALL = dict(n=12, points=64, ic_points=32, solver_points=48)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny problems: one thread is much faster on busy cores


def mode(xy):
    """The standing wave's initial displacement sin(pi x) sin(pi y) (0 on the border), torch or numpy."""
    lib = torch if isinstance(xy, torch.Tensor) else np
    return (lib.sin(math.pi * xy[..., 0]) * lib.sin(math.pi * xy[..., 1]))[..., None]


class StandingWave(nn.Module):
    """u(t, x, y) = a cos(w t) sin(pi x) sin(pi y) + v t + b on the network input (tau, x, y), t = (tau + 1) / scale.
    With a = 1, v = b = 0 and w = pi sqrt(2) c it solves u_tt = c^2 Lap u, u(0) = mode, u_t(0) = 0, u = 0 on the
    border."""

    def __init__(self, scale, w, a=1.0, v=0.0, b=0.0):
        super().__init__()
        self.scale, self.w, self.a, self.v, self.b = scale, w, a, v, b
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, coords):
        t = (coords[:, :1] + 1) / self.scale
        return self.a * torch.cos(self.w * t) * mode(coords[:, 1:]) + self.v * t + self.b + 0 * self.dummy


@pytest.mark.parametrize("c", [1.0, 2.0])
def test_terms_vanish_for_an_exact_solution_and_not_for_wrong_ones(c):
    task = WaveTask(speed=c, initial=mode, duration=0.5, **SMALL)
    assert task.time_scale == c                            # tau = c_max t - 1: u_tt = c_max^2 u_tautau
    w = math.pi * math.sqrt(2) * c

    def terms(model):
        out = task.terms(model, 0.5, torch.Generator().manual_seed(0))
        return {k: float(raw.detach()) for k, (raw, _) in out.items()}

    exact = terms(StandingWave(c, w))
    assert all(v < 1e-9 for v in exact.values()), exact
    assert terms(StandingWave(c, 1.1 * w))["residual"] > 1e-5               # wrong frequency: residual only
    wrong = terms(StandingWave(c, w, a=1.2, v=0.5, b=0.1))
    assert wrong["ic_value"] > 1e-3 and wrong["ic_velocity"] > 1e-4 and wrong["boundary"] > 1e-3


def test_gaussian_initial_condition_is_fitted_by_the_terms():
    """The default u0 is the issue's Gaussian; a model returning it at t = 0 has zero initial-condition error."""
    task = WaveTask(source=(0.2, -0.3), sigma=0.15, **SMALL)

    class Initial(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(()))

        def forward(self, coords):
            d2 = (coords[:, 1:2] - 0.2) ** 2 + (coords[:, 2:3] + 0.3) ** 2
            return torch.exp(-d2 / (2 * 0.15**2)) + self.p

    terms = task.terms(Initial(), 0.0, torch.Generator().manual_seed(0))
    assert float(terms["ic_value"][0].detach()) < 1e-12 and float(terms["ic_velocity"][0].detach()) == 0


def test_speed_is_bilinear_and_oriented_x_first():
    """A bilinear c(x, y) = 1 + 0.2 x + 0.4 y on a 3 x 5 grid is reproduced exactly, in torch and numpy."""
    xs, ys = np.linspace(-1, 1, 3), np.linspace(-1, 1, 5)
    speed = Speed(1 + 0.2 * xs[:, None] + 0.4 * ys[None, :])
    xy = torch.rand(50, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    expect = 1 + 0.2 * xy[:, :1] + 0.4 * xy[:, 1:]
    assert torch.allclose(speed.at(xy), expect, atol=1e-6)
    X, Y = xy[:, 0].numpy(), xy[:, 1].numpy()
    assert np.allclose(speed.on_mesh(X, Y), expect[:, 0].numpy(), atol=1e-6)
    assert speed.max == pytest.approx(1.6) and Speed(np.full((4, 4), 2.0)).array is None   # constant arrays collapse


def test_window_widens_with_the_step_and_the_schedule_is_restored():
    task = WaveTask(pretrain=10, ramp=0.5, steps=110, **SMALL)
    windows = [task.window(k) for k in range(0, 120)]
    assert windows[:10] == [0.0] * 10 and windows[10] == 0.0
    assert all(b >= a for a, b in zip(windows, windows[1:]))
    assert windows[35] == pytest.approx(0.25) and windows[60] == 0.5 and windows[-1] == 0.5
    assert WaveTask(pretrain=10, ramp=0.0, steps=110, **SMALL).window(10) == 0.5
    task.loss(build_model("siren", 3, 1, hidden_features=8, hidden_layers=1), 35, torch.Generator().manual_seed(0))
    other = WaveTask(pretrain=10, ramp=0.5, steps=1000, **SMALL)
    other.load_state_dict(task.state_dict())
    assert other.total_steps == 110 and other.window(35) == task.window(35) and other.state_dict() == task.state_dict()


def test_resume_equals_an_uninterrupted_run(tmp_path):
    cfg = TrainConfig(steps=6, lr=1e-3, schedule="cosine", log_every=1, checkpoint_every=100, progress=False)

    def train(out, stop_at=None, resume=False, steps=6):
        torch.manual_seed(0)
        model = build_model("siren", 3, 1, hidden_features=16, hidden_layers=1)
        task = WaveTask(pretrain=2, ramp=0.5, steps=steps, **SMALL)

        def stop(step, record):
            if step == stop_at:
                raise KeyboardInterrupt
        result = fit(model, task, cfg, tmp_path / out, resume=resume, callback=stop)
        return model, task, result

    model, task, result = train("straight")
    _, _, cut = train("resumed", stop_at=3)
    assert cut.interrupted and cut.step == 3
    resumed, rtask, rest = train("resumed", resume=True, steps=None)   # the schedule comes from the checkpoint
    assert rest.step == 6 and rtask.total_steps == 6 and rtask.state_dict() == task.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert [r["window"] for r in rest.history] == [r["window"] for r in result.history]


def test_run_writes_the_wavefield_in_the_issue_layout(tmp_path):
    out = tmp_path / "run"
    args = ["wave", "--source", "0.3,-0.2", "--sigma", "0.12", "--n", "16", "--batch", "64", "--ic-points", "32",
            "--solver-points", "61", "--steps", "2", "--log-every", "1", *TINY, "--out", str(out)]
    assert main(args) == 0
    data = np.load(out / "wavefield.npz")
    assert {"t", "x", "y", "u", "u_solver", "speed", "source", "sigma"} <= set(data.files)
    t, x = data["t"], data["x"]
    assert np.allclose(t, [0, 0.1, 0.2, 0.3, 0.4, 0.5]) and np.allclose(x, np.linspace(-1, 1, 16))
    assert np.array_equal(x, data["y"])
    assert data["u"].shape == data["u_solver"].shape == (6, 16, 16) and data["speed"].shape == (16, 16)
    assert np.allclose(data["source"], [0.3, -0.2]) and float(data["sigma"]) == 0.12
    # axis order (t, x, y): the initial peak sits at the node nearest x = 0.3 on axis 1, y = -0.2 on axis 2
    ix, iy = np.unravel_index(np.argmax(data["u_solver"][0]), (16, 16))
    assert (ix, iy) == (np.abs(x - 0.3).argmin(), np.abs(x + 0.2).argmin())
    # the reference is siren.solvers.wave_fdtd on the refined grid (61 = 4 * 15 + 1 points per axis)
    _, _, ref = wave_fdtd(16, t, source=(0.3, -0.2), sigma=0.12, refine=4)
    assert np.allclose(data["u_solver"], ref, atol=1e-6)
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert {"rel_l2_t0.1", "rel_l2_t0.2", "rel_l2_t0.4", "rel_l2"} <= set(metrics)
    err = np.linalg.norm(data["u"][3] - data["u_solver"][3]) / np.linalg.norm(data["u_solver"][3])
    assert metrics["rel_l2_t0.3"] == pytest.approx(err, rel=1e-4)
    assert (out / "wave.mp4").is_file() and (out / "frames.png").is_file() and (out / "error.png").is_file()


def test_video_falls_back_to_gif_without_ffmpeg(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "imageio_ffmpeg" else real(name, *a))
    task = WaveTask(**SMALL)
    name, note = task.write_video(build_model("siren", 3, 1, hidden_features=8, hidden_layers=1), tmp_path)
    assert name == "wave.gif" and (tmp_path / "wave.gif").stat().st_size > 0 and "imageio-ffmpeg" in note


def test_default_frame_times_include_the_scored_ones():
    assert default_times(0.5) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert default_times(0.25) == [0.0, 0.1, 0.2, 0.25]
    assert {0.1, 0.2, 0.4} <= set(default_times(3.0)) and len(default_times(3.0)) == 9


@pytest.mark.parametrize("flags, message", [
    (["--sigma", "0"], "sigma"), (["--sigma", "-1"], "sigma"), (["--source", "1.5,0"], "outside"),
    (["--source", "0.1"], "source"), (["--duration", "0"], "duration"), (["--duration", "-2"], "duration"),
    (["--speed", "nope"], "neither a number"), (["--speed", "20"], "within"), (["--frames", "0.1,0.9"], "frame times"),
    (["--speed", "{nan}"], "non-finite"), (["--speed", "{flat}"], "2-D"), (["--speed", "{cube}"], "2-D"),
])
def test_bad_input_is_one_line_error(tmp_path, cli_error, flags, message):
    files = {"nan": np.where(np.eye(4) > 0, np.nan, 1.0), "flat": np.ones(5), "cube": np.ones((3, 3, 3))}
    for key, array in files.items():
        np.save(tmp_path / f"{key}.npy", array)
    flags = [f.format(**{k: str(tmp_path / f"{k}.npy") for k in files}) for f in flags]
    line = cli_error(["wave", *flags, *TINY, "--steps", "1", "--out", str(tmp_path / "run")])
    assert message in line, line
    assert not (tmp_path / "run").exists()


def test_python_api_rejects_bad_arguments():
    with pytest.raises(SirenError, match="sigma"):
        WaveTask(sigma=float("nan"), **SMALL)
    with pytest.raises(SirenError, match="ramp"):
        WaveTask(ramp=1.5, **SMALL)
