"""`siren edit`: Poisson image editing, one SIREN fitted to a blended gradient field (see `siren.tasks.poisson`).

Guidance field v = g_b + alpha * m * (g_f - g_b) with g_b, g_f the Sobel gradients of background and foreground and
m the mask (1 everywhere when none is given). Without a mask (alpha 0.5 by default) v is the gradient of the alpha
blend: the paper's composite. With a mask (alpha 1 by default) it is seamless cloning (Perez et al. 2003), with the
background's values also supervised outside the mask. Files: composite.png, edit.png, derivatives.png.
"""
from __future__ import annotations

import warnings
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.image import DEMOS, image_gradient, image_or_demo, resize_image
from ..errors import SirenError
from ..metrics import to_unit
from ..runtime import require_memory
from ..options import option
from ..viz.signals import image_row
from .base import Output, register
from .poisson import PoissonTask


@dataclass
class EditConfig:
    background: str = option(None, "image file or bundled demo name (e.g. moon)", positional=True)
    foreground: str = option(None, "image file or bundled demo name", positional=True)
    mask: str | None = option(None, "where the foreground goes, in its own frame: an image file (white = inside) or "
                              "ellipse:CY,CX,RY,RX or box:Y0,X0,Y1,X1 in fractions of the frame (default: everywhere)")
    alpha: float | None = option(None, "foreground weight of the gradients (default 0.5, or 1 with --mask)")
    scale: float = option(1.0, "resize the foreground to SCALE times the background's height and width")
    at: str = option("0.5,0.5", "centre of the foreground as CY,CX fractions of the background")
    size: int | None = option(256, "resize the background so its longer side has this many pixels")


def parse_mask(spec: str, shape) -> np.ndarray:
    """Mask (H, W) bool from an image file (> 0.5 after averaging channels, resized to shape), or a shape in
    fractions of the frame: "ellipse:CY,CX,RY,RX" (centre, radii) or "box:Y0,X0,Y1,X1" (corners)."""
    h, w = shape
    kind, _, args = spec.partition(":")
    if kind in ("ellipse", "box") and not Path(spec).is_file():
        try:
            a, b, c, d = (float(v) for v in args.split(","))
        except ValueError:
            raise SirenError(f"bad mask {spec!r} (write {kind}:4 comma-separated fractions, e.g. {kind}:0.5,0.5,0.2,0.3)") from None
        yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
        if kind == "ellipse":
            if c <= 0 or d <= 0:
                raise SirenError(f"bad mask {spec!r} (ellipse radii must be positive)")
            mask = ((yy - a) / c) ** 2 + ((xx - b) / d) ** 2 <= 1.0
        else:
            mask = (yy >= a) & (yy <= c) & (xx >= b) & (xx <= d)
    else:
        from skimage.transform import resize

        from ..data.image import load_image
        mask = resize(load_image(spec).mean(-1), shape, order=0, anti_aliasing=False) > 0.5
    if not mask.any():
        raise SirenError(f"mask {spec!r} selects no pixel (give a larger region)")
    return mask


def place(a: np.ndarray, shape, top: int, left: int) -> np.ndarray:
    """Put `a` (h, w, ...) into a zero array of `shape` (H, W) with its corner at (top, left); what falls outside
    the frame is cropped -> (H, W, ...)."""
    out = np.zeros((*shape, *a.shape[2:]), a.dtype)
    h, w = a.shape[:2]
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + h, shape[0]), min(left + w, shape[1])
    if y0 < y1 and x0 < x1:
        out[y0:y1, x0:x1] = a[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


@register
class EditTask(PoissonTask):
    """Poisson image editing: fit the guidance field of `edit_task`; writes composite.png and edit.png
    (background | foreground | pasted | composite)."""

    name = "edit"
    help = "Poisson image editing: blend two images in the gradient domain"
    Config = EditConfig

    @classmethod
    def from_config(cls, config: EditConfig):
        if config.background is None or config.foreground is None:
            raise SirenError(f"give a BACKGROUND and a FOREGROUND image (files or demos: {', '.join(DEMOS)})")
        try:
            at = tuple(float(v) for v in config.at.split(","))
        except ValueError:
            at = ()
        if len(at) != 2 or not all(map(math.isfinite, at)):
            raise SirenError(f"takes CY,CX in fractions of the background, e.g. --at 0.3,0.5 (got {config.at!r})", field="at")
        bg = resize_image(image_or_demo(config.background), config.size)
        fg = image_or_demo(config.foreground)
        mask = None if config.mask is None else parse_mask(config.mask, fg.shape[:2])
        return edit_task(bg, fg, mask, config.alpha, config.scale, at, background_source=config.background,
                         foreground_source=config.foreground, mask_source=config.mask)

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["brick", "cameraman", "--size", "12", "--mask", "ellipse:0.5,0.5,0.3,0.3"]

    def __init__(self, target: np.ndarray, reference: np.ndarray, outside: np.ndarray | None, panels: dict,
                 mask: np.ndarray, meta: dict):
        super().__init__(target, "gradient", reference, {"gradient": target}, weight=outside, pinned=outside,
                         metric_name="psnr_grad", meta=meta)
        self.panels, self.mask = panels, mask

    def write_outputs(self, model, out_dir: Path, history: list, image_name: str = "composite.png"):
        return super().write_outputs(model, out_dir, history, image_name=image_name)

    def _extra_outputs(self, image: torch.Tensor, out_dir: Path) -> list[Output]:
        composite = to_unit(image).cpu().numpy()
        image_row({**self.panels, "Poisson composite": composite}, out_dir / "edit.png", outline=self.mask)
        return [Output("edit.png", "figure", "background, foreground, pasted and the Poisson composite")]


def edit_task(background: np.ndarray, foreground: np.ndarray, mask: np.ndarray | None = None,
              alpha: float | None = None, scale: float = 1.0, at: tuple[float, float] = (0.5, 0.5), **meta) -> EditTask:
    """Blend two images (H, W, C) in [0, 1] in the gradient domain (see the module docstring).

    The foreground is resized to scale * (H, W) and centred at `at` (cy, cx in fractions of the background); mask
    (h, w) bool in the foreground's own frame (any resolution; resized with it; default everywhere). alpha defaults
    to 0.5 without a mask, 1 with one. Gray and RGB inputs mix (gray is repeated to three channels).
    """
    from skimage.transform import resize
    if alpha is None:
        alpha = 0.5 if mask is None else 1.0
    if not 0.0 <= alpha <= 1.0:
        raise SirenError(f"must be in [0, 1], got {alpha}", field="alpha")
    if not (math.isfinite(scale) and scale > 0):
        raise SirenError(f"must be positive, got {scale}", field="scale")
    h, w = background.shape[:2]
    require_memory(lambda s: 64 * max(h * w, s * s * h * w), float(scale), f"a foreground {scale:g} times the "
                   f"background's size", "scale", least=1e-3)     # its float64 copies while resized and placed
    if abs(foreground.shape[0] / foreground.shape[1] - h / w) > 0.02 * h / w:
        warnings.warn(f"foreground {foreground.shape[1]}x{foreground.shape[0]} is stretched to the background's "
                      f"aspect ratio {w}:{h}", stacklevel=2)
    fh, fw = max(2, round(scale * h)), max(2, round(scale * w))
    channels = max(background.shape[2], foreground.shape[2])
    bg = np.broadcast_to(background, (h, w, channels)).copy()
    fg = np.broadcast_to(resize(foreground, (fh, fw), order=1, anti_aliasing=True), (fh, fw, channels))
    inside = np.ones((fh, fw), bool) if mask is None else resize(mask.astype(float), (fh, fw), order=0) > 0.5
    corner = (round(at[0] * h - fh / 2), round(at[1] * w - fw / 2))
    m = place(inside, (h, w), *corner)
    if not m.any():
        raise SirenError(f"the foreground (centre {at[0]},{at[1]}, scale {scale}) falls outside the background "
                         f"(use --at inside 0..1 and a mask that covers part of the foreground)")
    weights = alpha * m[..., None].astype(np.float64)
    g_b, g_f = image_gradient(2.0 * bg - 1.0), place(image_gradient(2.0 * fg - 1.0), (h, w), *corner)
    target = g_b + weights[..., None] * (g_f - g_b)
    fg = place(fg, (h, w), *corner)
    pasted = bg + weights * (fg - bg)
    panels = {"background": bg, "foreground": fg, "pasted": pasted}
    return EditTask(target, 2.0 * pasted - 1.0, ~m, panels, m,
                    {"alpha": alpha, "masked": mask is not None, "scale": scale, "at": list(at), **meta})
