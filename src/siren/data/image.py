"""Images in and out: files <-> float arrays in [0, 1] <-> Signal with values in [-1, 1]."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from ..runtime import require_memory
from .signal import Signal, fit_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
DEMOS = {"cameraman": "camera", "astronaut": "astronaut", "coffee": "coffee", "chelsea": "chelsea",
         "moon": "moon", "text": "text", "brick": "brick", "rocket": "rocket", "retina": "retina"}


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file -> (H, W, C) float64 in [0, 1], C in {1, 3}. 8/16-bit and float files; alpha dropped."""
    import imageio.v3 as iio
    path = Path(path)
    if not path.is_file():
        raise SirenError(f"image not found: {path} (check the path)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # imageio's plugin chatter while probing formats
            img = iio.imread(path)
    except Exception:
        raise SirenError(f"cannot read {path} as an image (not a PNG, JPEG, TIFF, BMP or other known format)") from None
    return to_float_image(img, name=str(path))


def to_float_image(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Any image array (H, W[, C]) of int or float dtype -> (H, W, C) float64 in [0, 1], C in {1, 3}; SirenError
    on NaN or infinite values."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 2, 3, 4):
        raise SirenError(f"{name} has shape {img.shape}, not an image (expected H x W, H x W x 3 or H x W x 4)")
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise SirenError(f"{name} is {img.shape[0]}x{img.shape[1]} pixels; an image needs at least 2x2 (use a larger image)")
    if img.shape[-1] in (2, 4):
        warnings.warn(f"{name}: alpha channel dropped", stacklevel=3)
        img = img[..., :-1]
    if np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float64) / np.iinfo(img.dtype).max
    elif np.issubdtype(img.dtype, np.floating) or img.dtype == bool:
        img = img.astype(np.float64)
        bad = img.size - int(np.isfinite(img).sum())
        if bad:
            raise SirenError(f"{name} contains {bad} NaN or infinite values (fix the file)")
        if img.max() > 1.0 or img.min() < 0.0:
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    else:
        raise SirenError(f"{name} has unsupported pixel type {img.dtype}")
    return img


def demo_image(name: str) -> np.ndarray:
    """A bundled scikit-image picture by name (cameraman, astronaut, ...) -> (H, W, C) in [0, 1]."""
    import skimage.data
    if name not in DEMOS:
        raise SirenError(f"unknown demo image {name!r} (choose from {', '.join(DEMOS)})")
    return to_float_image(getattr(skimage.data, DEMOS[name])(), name=name)


def input_image(path: str | Path | None, demo: str | None, size: int | None = None) -> np.ndarray:
    """The image of `path` or of the demo `demo` (exactly one of them), resized to `size` -> (H, W, C) in [0, 1]."""
    if (path is None) == (demo is None):
        raise SirenError("give an image PATH or --demo NAME, not both or neither")
    return resize_image(demo_image(demo) if demo else load_image(path), size)


def image_or_demo(spec: str) -> np.ndarray:
    """An image file, else a bundled demo name -> (H, W, C) in [0, 1]."""
    if not Path(spec).is_file() and spec in DEMOS:
        return demo_image(spec)
    if not Path(spec).exists():
        raise SirenError(f"image not found: {spec} (give a file or a bundled demo: {', '.join(DEMOS)})")
    return load_image(spec)


def resized_shape(shape, size: int) -> tuple[int, int]:
    """(H, W) resized so the longer side is `size` pixels, aspect kept, each side at least 2."""
    h, w = shape[:2]
    scale = size / max(h, w)
    return max(2, round(h * scale)), max(2, round(w * scale))


def require_size(shape, size: int, channels: int, frames: int = 1, field: str = "size",
                 bytes_for=fit_bytes) -> None:
    """Refuse a longer side `size` (>= 2) for images of `shape` (H, W, ...) before anything is allocated: a
    SirenError naming `field` and the largest size that fits when bytes_for((frames,) H', W'), fitting by
    default, exceeds the memory available (`siren.runtime.require_memory`)."""
    if size < 2:
        raise SirenError(f"must be at least 2, got {size}", field=field)
    lead = (frames,) if frames > 1 else ()
    h, w = resized_shape(shape, size)
    what = f"{frames} frames of {w} x {h} pixels" if lead else f"a {w} x {h} image"
    require_memory(lambda s: bytes_for((*lead, *resized_shape(shape, s)), channels), size, what, field, least=2)


def resize_image(img: np.ndarray, size: int | None) -> np.ndarray:
    """Resize so the longer side is `size` pixels (aspect kept, anti-aliased; refused when fitting it would not
    fit in memory, `require_size`); None keeps the image."""
    if size is None:
        return img
    require_size(img.shape, size, img.shape[2])
    from skimage.transform import resize
    shape = (*resized_shape(img.shape, size), img.shape[2])
    return np.clip(resize(img, shape, anti_aliasing=size < max(img.shape[:2]), order=1), 0.0, 1.0)


def image_signal(img: np.ndarray, **meta) -> Signal:
    """(H, W, C) in [0, 1] -> Signal with values 2 img - 1 in [-1, 1] (float32)."""
    return Signal(torch.from_numpy(2.0 * img - 1.0).float(), "image", meta)


def save_image(path: str | Path, img) -> None:
    """Write (H, W[, C]) values in [0, 1] (array or tensor) as an 8-bit PNG."""
    import imageio.v3 as iio
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    iio.imwrite(path, (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def image_gradient(img: np.ndarray) -> np.ndarray:
    """Sobel gradient of (H, W, C) in units of the [-1, 1] grid -> (H, W, C, 2), last axis (d/dy, d/dx).

    scipy.ndimage.sobel is 8x the per-pixel derivative; one pixel step is 2 / (S - 1) grid units.
    """
    from scipy import ndimage
    h, w = img.shape[:2]
    scale = ((h - 1) / 16.0, (w - 1) / 16.0)
    return np.stack([np.stack([ndimage.sobel(img[..., c], axis=a) * scale[a] for a in (0, 1)], -1)
                     for c in range(img.shape[-1])], axis=2)


def image_laplacian(img: np.ndarray) -> np.ndarray:
    """Laplacian of (H, W, C) in units of the [-1, 1] grid -> (H, W, C): the 5-point stencil of
    scipy.ndimage.laplace, each axis scaled by ((S - 1) / 2)^2 (equal to laplace * s^2 for square images)."""
    from scipy import ndimage
    h, w = img.shape[:2]
    scale = (((h - 1) / 2.0) ** 2, ((w - 1) / 2.0) ** 2)
    return np.stack([sum(ndimage.correlate1d(img[..., c], [1.0, -2.0, 1.0], axis=a, mode="reflect") * scale[a]
                         for a in (0, 1)) for c in range(img.shape[-1])], axis=-1)


def image_files(folder: str | Path) -> list[Path]:
    """Visible image files directly in `folder` (by suffix), in natural name order (frame2 before frame10)."""
    def natural(p: Path):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]
    return sorted((p for p in Path(folder).iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES), key=natural)


def require_image_files(folder: str | Path, hint: str = "") -> list[Path]:
    """`image_files(folder)`, or a SirenError when `folder` is not a folder or holds no image file (`hint`: what
    to pass instead, e.g. "or --demo")."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SirenError(f"not a folder: {folder} (pass a folder of images{' ' + hint if hint else ''})")
    files = image_files(folder)
    if not files:
        raise SirenError(f"no images in {folder} (expected files ending in {', '.join(IMAGE_SUFFIXES)})")
    return files


def load_image_folder(folder: str | Path, size: int | None = None) -> tuple[list[Signal], list[str]]:
    """Every image of a folder -> (Signals, file names), in natural name order (`image_files`).

    Size rule: each image keeps its own shape, or with `size` is resized so its longer side is `size` pixels
    (aspect kept); shapes may differ (see `siren.tasks.fit_batch`). Channels: if any image is RGB, gray images are repeated
    to 3 channels, so one model output size fits all.
    """
    files = require_image_files(folder)
    images = [resize_image(load_image(f), size) for f in files]
    channels = max(img.shape[-1] for img in images)
    images = [np.repeat(img, channels, axis=-1) if img.shape[-1] < channels else img for img in images]
    return [image_signal(img, source=str(f)) for img, f in zip(images, files)], [f.name for f in files]
