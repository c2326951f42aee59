"""The audio and video side of `FitTask`: model options, metrics, output files and rendering from checkpoints.

Audio: a Signal of shape (N,) (time in [-1, 1]); metrics MSE and SNR = 10 log10(sum x^2 / sum (x - y)^2) dB, both
on the amplitude scaled to [-1, 1]. Video: a Signal of shape (T, H, W); metric PSNR on [0, 1] per frame, computed
one frame at a time (a frame in chunks), so no pass ever holds the whole video's predictions.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from .. import metrics, viz
from ..data.audio import save_wav
from ..data.grid import grid
from ..data.video import save_video
from ..errors import SirenError
from . import fit

AUDIO_FIRST_OMEGA = 3000.0  # the paper's first-layer omega_0 for audio (time in [-1, 1])
EVAL_FRAMES = 16            # frames (evenly spaced) scored at each log step; write_outputs scores all of them
FIGURE_FRAMES = 4           # frames shown in frames.png


def model_options(kind: str, model_name: str) -> dict:
    """Audio: siren first_omega_0 = 3000; rff scale 3000 / (2 pi sqrt 3), so its angular frequencies 2 pi B spread
    as widely as a siren's first layer, omega_0 * U(-1, 1) (standard deviation omega_0 / sqrt 3). Else nothing."""
    if kind == "audio" and model_name == "siren":
        return {"first_omega_0": AUDIO_FIRST_OMEGA}
    if kind == "audio" and model_name == "rff":
        return {"scale": AUDIO_FIRST_OMEGA / (2.0 * math.pi * math.sqrt(3.0))}
    return {}


@torch.no_grad()
def render_frames(model, shape, frames=None, chunk: int = 65_536):
    """Yield (index, (H, W, C) prediction) for each frame index (default all) of a (T, H, W) grid over [-1, 1]^3.

    Frame i holds the coordinates (t_i, y, x) of `grid((T, H, W))`, evaluated in chunks of `chunk` points.
    """
    t, h, w = shape
    p = next(model.parameters())
    times, space = grid((t,), device=p.device, dtype=p.dtype)[:, 0], grid((h, w), device=p.device, dtype=p.dtype)
    for i in range(t) if frames is None else frames:
        coords = torch.cat([times[i].expand(h * w, 1), space], dim=1)
        yield i, torch.cat([model(c) for c in coords.split(chunk)]).reshape(h, w, -1)


def evaluate(task, model) -> dict:
    """Audio: {"mse", "snr"} on the whole clip. Video: {"psnr"}: mean PSNR over up to EVAL_FRAMES evenly spaced
    frames."""
    if task.signal.kind == "audio":
        return _audio_metrics(fit.render(model, task.signal.shape), task.values)
    count = task.signal.shape[0]
    scored = np.unique(np.linspace(0, count - 1, min(count, EVAL_FRAMES)).round().astype(int))
    return {"psnr": float(np.mean(frame_psnrs(task, model, scored)))}


def frame_psnrs(task, model, frames=None) -> list[float]:
    """PSNR (dB, on [0, 1]) of each frame index of a video task (default all), one frame at a time."""
    truth = _frames(task)
    return [fit.unit_psnr(pred, truth[i]) for i, pred in render_frames(model, task.signal.shape, frames)]


def write_outputs(task, model, out_dir: Path, history: list) -> dict:
    """Audio: reconstruction.wav, audio.png, snr.png. Video: reconstruction.mp4, frames.png, psnr.png.
    Both: metrics.json. Returns the metrics."""
    out_dir = Path(out_dir)
    write = _audio_outputs if task.signal.kind == "audio" else _video_outputs
    result = {**write(task, model, out_dir, history), "steps": history[-1]["step"] if history else 0}
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


def _audio_metrics(pred: torch.Tensor, truth: torch.Tensor) -> dict:
    return {"mse": metrics.mse(pred, truth), "snr": metrics.snr_db(pred, truth)}


def _audio_outputs(task, model, out_dir: Path, history: list) -> dict:
    meta = task.signal.meta
    pred, truth = fit.render(model, task.signal.shape).cpu().numpy(), task.values.cpu().numpy()
    save_wav(out_dir / "reconstruction.wav", pred, meta["rate"], meta["scale"])
    audio_figure(truth, pred, meta["rate"], out_dir / "audio.png")
    viz.curve(history, "snr", out_dir / "snr.png", ylabel="SNR (dB)")
    return {**_audio_metrics(pred, truth), "rate": meta["rate"], "samples": len(truth),
            "seconds": len(truth) / meta["rate"]}


def _frames(task) -> torch.Tensor:
    return task.values.reshape(*task.signal.shape, -1)


def _video_outputs(task, model, out_dir: Path, history: list) -> dict:
    shape, truth = task.signal.shape, _frames(task)
    shown = set(np.linspace(0, shape[0] - 1, min(shape[0], FIGURE_FRAMES)).round().astype(int).tolist())
    psnrs, panels = [], {}

    def frames():  # one pass: score each frame, keep the shown ones, stream it into the MP4
        for i, pred in render_frames(model, shape):
            psnrs.append(fit.unit_psnr(pred, truth[i]))
            if i in shown:
                panels[i] = (fit.to_unit(truth[i]).cpu().numpy(), fit.to_unit(pred).cpu().numpy())
            yield fit.to_unit(pred)

    save_video(out_dir / "reconstruction.mp4", frames(), task.signal.meta["fps"])
    frames_figure(panels, psnrs, out_dir / "frames.png")
    viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="PSNR (dB), sampled frames")
    return {"psnr_mean": float(np.mean(psnrs)), "psnr_std": float(np.std(psnrs)), "psnr_frames": psnrs,
            "frames": shape[0], "height": shape[1], "width": shape[2], "fps": task.signal.meta["fps"]}


def audio_figure(truth: np.ndarray, pred: np.ndarray, rate: int, path: Path) -> None:
    """truth, pred: (N, C) in [-1, 1] (channels averaged for display) -> PNG with both waveforms, the residual
    pred - truth and both spectrograms (dB, one colour scale, 80 dB range)."""
    from scipy.signal import spectrogram
    plt = viz.pyplot()
    truth, pred = truth.mean(-1), pred.mean(-1)
    seconds = np.arange(len(truth)) / rate
    fig, ax = plt.subplot_mosaic([["truth", "fit"], ["residual", "residual"], ["spec truth", "spec fit"]],
                                 figsize=(11, 8), constrained_layout=True)
    for name, x in (("truth", truth), ("fit", pred), ("residual", pred - truth)):
        ax[name].plot(seconds, x, lw=0.4, color="C3" if name == "residual" else "C0")
        ax[name].set_title("ground truth" if name == "truth" else name)
        ax[name].set_xlabel("time (s)")
        ax[name].set_xlim(0, seconds[-1])
    ax["truth"].sharey(ax["fit"])
    window = min(len(truth), max(64, min(512, len(truth) // 32)))  # >= 32 windows on short clips
    specs = [spectrogram(x, fs=rate, nperseg=window) for x in (truth, pred)]
    top = max(10.0 * np.log10(s.max() + 1e-30) for _, _, s in specs)
    for name, (f, t, s) in zip(("spec truth", "spec fit"), specs):
        im = ax[name].pcolormesh(t, f, 10.0 * np.log10(s + 1e-30), vmin=top - 80.0, vmax=top, cmap="magma",
                                 shading="auto")
        ax[name].set_title(f"spectrogram, {name.split()[1].replace('truth', 'ground truth')}")
        ax[name].set_xlabel("time (s)")
        ax[name].set_ylabel("frequency (Hz)")
    fig.colorbar(im, ax=[ax["spec truth"], ax["spec fit"]], label="power (dB)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def frames_figure(panels: dict, psnrs: list, path: Path) -> None:
    """panels: frame index -> (truth, fit), each (H, W, C) in [0, 1] -> PNG, one column per frame, rows ground truth,
    fit and |fit - truth| (mean over channels, colour scale 0..max); psnrs[i] titles frame i."""
    plt = viz.pyplot()
    cols = sorted(panels)
    errors = {i: np.abs(panels[i][1] - panels[i][0]).mean(-1) for i in cols}
    top = max(e.max() for e in errors.values()) or 1.0
    h, w = panels[cols[0]][0].shape[:2]
    fig, axes = plt.subplots(3, len(cols), figsize=(2.4 * len(cols) * max(w / h, 0.6) + 1.0, 7.5), squeeze=False,
                             constrained_layout=True)
    for c, i in enumerate(cols):
        truth, pred = panels[i]
        for r, img in enumerate((truth, pred)):
            axes[r, c].imshow(np.clip(img[..., 0] if img.shape[-1] == 1 else img, 0, 1), cmap="gray", vmin=0, vmax=1)
        im = axes[2, c].imshow(errors[i], cmap="inferno", vmin=0, vmax=top)
        axes[0, c].set_title(f"frame {i}, {psnrs[i]:.1f} dB")
        for r in range(3):
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    for r, label in enumerate(("ground truth", "fit", "|error|")):
        axes[r, 0].set_ylabel(label)
    fig.colorbar(im, ax=axes[2, :].tolist(), shrink=0.8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render_media(model, meta: dict, out: Path, size: int | None = None, rate: int | None = None,
                 fps: float | None = None) -> None:
    """Render an audio or video checkpoint (meta = FitTask.meta()) into `out`.

    Audio: a .wav at `rate` Hz (default the original) of the same duration, N' = round(N rate / rate_0) samples.
    Video: an .mp4 at `fps` (default the original) of the same duration, T' = round(T fps / fps_0) frames, scaled
    so the longer side has `size` pixels (default the original size). Both span the trained time axis [-1, 1].
    """
    out = Path(out)
    kind, shape = meta["kind"], meta["shape"]
    if kind == "audio":
        if size is not None or fps is not None:
            raise SirenError("--size and --fps apply to image and video checkpoints; audio takes --rate")
        if out.suffix.lower() != ".wav":
            raise SirenError(f"audio renders to a .wav file, got {out.name} (pass --out NAME.wav)")
        new_rate = _positive(rate, meta["rate"], "--rate")
        samples = max(2, round(shape[0] * new_rate / meta["rate"]))
        save_wav(out, fit.render(model, (samples,)), int(new_rate), meta["scale"])
        return
    if rate is not None:
        raise SirenError("--rate applies to audio checkpoints; video takes --size and --fps")
    if out.suffix.lower() != ".mp4":
        raise SirenError(f"video renders to an .mp4 file, got {out.name} (pass --out NAME.mp4)")
    new_fps = _positive(fps, meta["fps"], "--fps")
    scale = _positive(size, max(shape[1:]), "--size") / max(shape[1:])
    new_shape = (max(2, round(shape[0] * new_fps / meta["fps"])),
                 max(2, round(shape[1] * scale)), max(2, round(shape[2] * scale)))
    save_video(out, (fit.to_unit(pred) for _, pred in render_frames(model, new_shape)), new_fps)


def _positive(value, default, flag: str):
    if value is not None and not value > 0:
        raise SirenError(f"{flag} must be positive, got {value}")
    return default if value is None else value
