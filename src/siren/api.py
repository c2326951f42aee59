"""The notebook-sized API: fit a signal in one call, render it at any size, take its derivatives.

    import siren
    fitted = siren.fit("photo.png", steps=300)      # a path, or an array (see `fit`)
    fitted.metrics["psnr"]                          # what the CLI would report
    big = fitted.render(1024)                       # (H', W', C) in [0, 1], the longer side 1024 px
    d = fitted.derivatives()                        # d.gradient (H, W, C, 2), d.laplacian (H, W, C)
    again = siren.load(fitted.out)                  # any run folder the CLI or `fit` wrote

`fit` is the CLI's `siren fit image|audio|video` (same task, defaults, run folder and metrics) without the flags.
Conventions: coordinates span [-1, 1] per axis with endpoints (axis 0 = rows / time first), so derivatives are
w.r.t. those coordinates, of the signal as the network holds it (images and video: 2 v - 1 for pixel values v in
[0, 1]; audio: samples / peak).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data.audio import AUDIO_SUFFIXES, audio_signal
from .data.image import IMAGE_SUFFIXES, image_signal, resize_image, to_float_image
from .data.video import resize_video, to_float_video, video_signal
from .errors import SirenError
from .rendering import render, render_derivatives
from .run_folder import load_checkpoint, model_from_checkpoint
from .train import TrainConfig, resolve_device

__all__ = ["Fitted", "FieldDerivatives", "fit", "load"]

@dataclass
class FieldDerivatives:
    """On a regular grid of `shape` (d axes) with C channels: value (*shape, C), gradient (*shape, C, d)
    [..., c, i] = d value_c / d x_i, laplacian (*shape, C) = sum_i d2 value_c / d x_i2 (numpy, float32)."""
    value: np.ndarray
    gradient: np.ndarray
    laplacian: np.ndarray


@dataclass
class Fitted:
    """A trained network and what it represents. kind: "image" | "audio" | "video"; shape: the grid it was
    trained on ((H, W), (N,) or (T, H, W)); meta: the task's record (audio: rate and peak scale; video: fps);
    metrics: metrics.json's scores; history: the log steps; out: the run folder."""
    model: torch.nn.Module
    kind: str
    shape: tuple[int, ...]
    meta: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    out: Path | None = None

    def grid_shape(self, size: int | None = None) -> tuple[int, ...]:
        """The trained grid with its longest spatial side scaled to `size` (audio: `size` samples; video: the
        frames keep their count)."""
        if size is None:
            return self.shape
        if size < 2:
            raise SirenError(f"size must be at least 2, got {size}")
        space = self.shape[1:] if self.kind == "video" else self.shape
        scaled = tuple(max(2, round(s * size / max(space))) for s in space)
        return (self.shape[0], *scaled) if self.kind == "video" else scaled

    def render(self, size: int | None = None) -> np.ndarray:
        """The signal on a grid of `grid_shape(size)`: images (H, W, C) and video (T, H, W, C) in [0, 1]; audio
        (N, C) samples at the clip's own scale (played at rate * N / trained N to keep its duration)."""
        values = render(self.model, self.grid_shape(size)).cpu().numpy()
        if self.kind == "audio":
            return values * self.meta.get("scale", 1.0)
        return np.clip((values + 1.0) / 2.0, 0.0, 1.0)

    def derivatives(self, size: int | None = None) -> FieldDerivatives:
        """Value, gradient and Laplacian of the network on a grid of `grid_shape(size)` (see the module's
        conventions for the units)."""
        y, g, lap = render_derivatives(self.model, self.grid_shape(size))
        return FieldDerivatives(y.cpu().numpy(), g.cpu().numpy(), lap.cpu().numpy())


def _task_and_config(signal, kind: str | None, rate: int | None, fps: float | None, size: int | None):
    """(task class, its Config) for a path (the file, as the CLI reads it) or an array (a Signal); see `fit`."""
    from .tasks import AudioFitTask, ImageFitTask, VideoFitTask
    if isinstance(signal, (str, os.PathLike)):
        path = Path(signal)
        if not path.exists():
            raise SirenError(f"not found: {path}")
        kind = kind or ("image" if path.suffix.lower() in IMAGE_SUFFIXES and path.suffix.lower() != ".gif"
                        else "audio" if path.suffix.lower() in AUDIO_SUFFIXES else "video")
        task = {"image": ImageFitTask, "audio": AudioFitTask, "video": VideoFitTask}[kind]
        return task, task.Config(path=str(path), **({} if kind == "audio" else {"size": size}))
    array = np.asarray(signal.detach().cpu() if isinstance(signal, torch.Tensor) else signal)
    if kind is None:
        kind = "audio" if rate is not None else {2: "image", 3: "image", 4: "video"}.get(array.ndim)
    if kind == "image" and array.ndim in (2, 3):
        return ImageFitTask, ImageFitTask.Config(path=image_signal(resize_image(to_float_image(array), size)))
    if kind == "video" and array.ndim == 4:
        return VideoFitTask, VideoFitTask.Config(path=video_signal(resize_video(to_float_video(array), size),
                                                                   fps or 25.0))
    if kind == "audio" and array.ndim in (1, 2):
        if rate is None or rate <= 0:
            raise SirenError("an audio array needs its sample rate: fit(samples, rate=16000)")
        samples = array.astype(np.float64).reshape(array.shape[0], -1)
        return AudioFitTask, AudioFitTask.Config(path=audio_signal(samples, rate))
    raise SirenError(f"cannot fit an array of shape {array.shape} as {kind or 'a signal'} (images: (H, W) or "
                     "(H, W, C); video: (T, H, W, C); audio: (N,) or (N, C) with rate=)")


def fit(signal, *, kind: str | None = None, model: str = "siren", steps: int | None = None, lr: float | None = None,
        size: int | None = None, rate: int | None = None, fps: float | None = None, out: str | os.PathLike | None = None,
        overwrite: bool = False, seed: int = 0, device: str = "auto", progress: bool = True, report: bool = True,
        init: str | os.PathLike | None = None, **model_options) -> Fitted:
    """Fit `model` (a coordinate family, `siren.models.model_names()`, with its options as keywords, e.g.
    hidden_features=128, first_omega_0=60) to a signal: `siren fit image|audio|video` (the same task, Config,
    defaults, launch and run folder) from Python.

    signal: a file (image, sound or video, by its suffix; `kind` overrides), or an array / tensor: (H, W) or
    (H, W, C) an image (uint8, or floats in [0, 1]); (T, H, W, C) a video (at `fps`, default 25); (N,) or (N, C)
    audio when `rate` (Hz) is given. size: resize images and video frames so the longer side has `size` pixels.
    steps, lr: default to the task's measured defaults. init: a `siren meta train` run to start from (its
    architecture and test-time learning rate become the defaults, as `--init`). out: the run folder (default a
    new temporary folder); report=False skips report.html.
    """
    from .launch import init_defaults, launch
    from .models import ModelConfig
    task_cls, config = _task_and_config(signal, kind, rate, fps, size)
    settings = dict(task_cls.train_defaults)
    common = {k: model_options.pop(k) for k in ("hidden_features", "hidden_layers", "first_omega_0",
                                                  "hidden_omega_0") if k in model_options}
    if init is not None:
        defaults = init_defaults(init, lr_given=lr is not None)
        model = defaults.pop("model")
        settings.update({k: defaults.pop(k) for k in ("schedule", "lr") if k in defaults})
        common = {**defaults, **common}
    settings.update({k: v for k, v in (("steps", steps), ("lr", lr)) if v is not None})
    cfg = TrainConfig(seed=seed, device=device, progress=progress, **settings)
    out = Path(tempfile.mkdtemp(prefix="siren-")) if out is None else Path(out)
    launch(task_cls, config, ModelConfig(model=model, init=None if init is None else str(init), options=model_options,
                                         **common), cfg, out, overwrite=overwrite, report=report)
    return load(out, device=device)


def load(run: str | os.PathLike, device: str = "auto") -> Fitted:
    """A run folder (or its checkpoint.pt) of a signal fit -> `Fitted` with its model on `device` (of `siren
    solve`: its `siren.problem.Solution`)."""
    ckpt = load_checkpoint(run)
    meta = ckpt.get("task") or {}
    if meta.get("task") == "solve":                  # a run of `siren solve` / `siren.solve`: its Solution
        from .problem.solution import load_solution
        return load_solution(run, ckpt, device)
    if meta.get("task") not in ("fit image", "fit audio", "fit video") or meta.get("batched"):
        raise SirenError(f"{run} is a run of {meta.get('task', 'an unknown task')!r}, not of one signal fit "
                         "(siren fit image, audio or video); siren.load_model gives its network")
    net = model_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    folder = Path(run) if Path(run).is_dir() else Path(run).parent
    scores = folder / "metrics.json"
    metrics = json.loads(scores.read_text()).get("metrics", {}) if scores.is_file() else {}
    return Fitted(net, meta["task"].split()[1], tuple(meta["shape"]), meta, metrics, ckpt.get("history", []), folder)
