"""`siren fit image`: fit an image (or every image of a folder, one batched SIREN) and render it at any size.

The image (H, W, C) in [0, 1] becomes values 2 img - 1 on the (H, W) grid over [-1, 1]^2 (axis 0 = y, down the
rows; axis 1 = x). Metrics: PSNR and SSIM on [0, 1]. Files: reconstruction.png, derivatives.png (ground truth by
Sobel and the 5-point Laplacian, the fit's by `siren.diff`, all in units of the [-1, 1] grid, halved to the [0, 1]
image), psnr.png.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import metrics, viz
from ..data.image import IMAGE_SUFFIXES, image_signal, input_image, require_size, save_image
from ..data.signal import Signal, render_bytes
from ..errors import SirenError
from ..metrics import to_unit, unit_psnr
from ..options import option
from ..rendering import render, render_derivatives
from .base import MAX_BATCH, Output, register
from .fit import SignalFitTask
from .fit_batch import BatchFitTask


@dataclass
class ImageConfig:
    path: str | None = option(None, "image file (PNG, JPEG, TIFF, ...), or a folder: fit all its images at once with "
                              "one batched siren (under torchrun: split across the processes)", positional=True)
    demo: str | None = option(None, "bundled image: cameraman, astronaut, coffee, ...")
    size: int | None = option(None, "resize so the longer side has this many pixels")
    batch: int | None = option(None, "pixels per step, drawn at random without replacement (default: an eighth of the "
                               "pixels, at least 8,192 and at most 16,384; 0: every pixel, the paper's full batch, up "
                               "to 262,144)")


FIGURE_PIXELS = 512         # longer side of the panels of derivatives.png (the figure shows them ~300 px wide)


def default_batch(pixels: int) -> int:
    """Pixels per step of the defaults: pixels / 8 within [8192, 16384] (chosen by the runs in docs/images.md, Time
    to quality)."""
    return min(16_384, max(8_192, pixels // 8))


@dataclass
class ImageRender:
    """`siren render` of an image fit."""
    size: int | None = option(None, "longer side of the output in pixels (default as trained)")


@register
class ImageFitTask(SignalFitTask):
    """Fit an image Signal by MSE; metric PSNR on [0, 1]."""

    name = "fit image"
    help = "fit an image file, a bundled demo image, or a folder of images"
    Config = ImageConfig
    Render = ImageRender
    train_defaults = {"steps": 800, "lr": 5e-4, "schedule": "cosine"}    # docs/images.md, Time to quality
    presets = {"paper": {"batch": 0, "lr": 1e-4, "schedule": None, "steps": 500}}

    @classmethod
    def from_config(cls, config: ImageConfig, shard: tuple[int, int] = (0, 1)):
        if config.batch is not None and config.batch < 0:
            raise SirenError(f"must be 0 (every pixel) or positive, got {config.batch}", field="batch")
        signal = config.path if isinstance(config.path, Signal) else image_signal(
            input_image(config.path, config.demo, config.size), source=config.demo or str(config.path))
        batch = default_batch(math.prod(signal.shape)) if config.batch is None else config.batch
        return cls(signal, max_batch=batch or MAX_BATCH, shard=shard)

    @classmethod
    def resolve(cls, config: ImageConfig):
        """A folder of images is fitted all at once by the batched fit."""
        if config.demo is None and isinstance(config.path, (str, Path)) and Path(config.path).is_dir():
            return BatchFitTask
        return cls

    def model_hints(self) -> dict:
        return {"sidelength": min(self.signal.shape)}

    def evaluate(self, model) -> dict:
        return {"psnr": unit_psnr(*self.eval_prediction(model))}

    def write_outputs(self, model, out_dir: Path, history: list):
        """Metrics and reconstruction.png over every pixel; derivatives.png at most FIGURE_PIXELS a side: the fit's
        derivatives on every s-th pixel (s = ceil(longer side / FIGURE_PIXELS)), the truth's Sobel and Laplacian
        on the full image, then the same pixels."""
        out_dir, shape = Path(out_dir), self.signal.shape
        pred_u = to_unit(render(model, shape)).cpu()
        truth_u = to_unit(self.values.reshape(pred_u.shape).cpu())
        result = {"psnr": metrics.psnr(pred_u, truth_u), "ssim": metrics.ssim(pred_u, truth_u)}
        save_image(out_dir / "reconstruction.png", pred_u)
        stride = -(-max(shape) // FIGURE_PIXELS)
        pred, grad, lap = render_derivatives(model, shape, stride=stride)  # values in [-1, 1]: halve derivatives
        viz.derivative_figure({"ground truth": [a[::stride, ::stride] for a in viz.image_derivatives(truth_u.numpy())],
                               "fit": (to_unit(pred).cpu().numpy(), viz.gradient_magnitude(grad) / 2,
                                       lap.cpu().numpy().mean(-1) / 2)}, out_dir / "derivatives.png")
        viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="PSNR (dB)")
        return result, [Output("reconstruction.png", "image", f"the fit, {result['psnr']:.2f} dB PSNR"),
                        Output("derivatives.png", "figure", "image, gradient magnitude and Laplacian: ground truth "
                               "(Sobel, 5-point stencil) and the fit (siren.diff)"),
                        Output("psnr.png", "figure", "PSNR (dB) against training step")]

    @classmethod
    def render(cls, model, meta, out, options: ImageRender) -> None:
        """A PNG whose longer side has `options.size` pixels (default as trained), same aspect, over the same
        [-1, 1]^2."""
        if Path(out).suffix.lower() not in IMAGE_SUFFIXES:
            raise SirenError(f"an image renders to an image file, got {Path(out).name} (pass --out NAME.png)")
        h, w = meta["shape"]
        size = max(h, w) if options.size is None else options.size
        require_size((h, w), size, meta["channels"], bytes_for=render_bytes)
        scale = size / max(h, w)
        save_image(out, to_unit(render(model, (max(2, round(h * scale)), max(2, round(w * scale))))))

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "cameraman", "--size", "12"]
