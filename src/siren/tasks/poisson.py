"""Poisson problems: fit a network to an image's gradient or Laplacian only, and Poisson image editing.

Units. The image u is valued in [-1, 1] (2 * pixel - 1) on the [-1, 1]^2 grid; the targets are the Sobel gradient
(`siren.data.image.image_gradient`, (H, W, C, 2), last axis (d/dy, d/dx)) or the 5-point Laplacian
(`image_laplacian`, (H, W, C)) of u, both in units of the [-1, 1] coordinates, so they agree with the derivatives
of the network Phi(y, x) taken by `siren.diff.value_and_derivatives` (inside the image they agree to O(h^2); on the
border rows scipy's reflect padding, also used by the paper's code, makes the targets differ from the true
derivatives, e.g. a Laplacian spike proportional to the normal derivative times (S - 1)).

Loss (full image per step, random batches above `max_batch` points):
    gradient:   mean over points, channels and both components of (grad Phi - grad u)^2
    laplacian:  mean over points and channels of (lap Phi - lap u)^2

Alignment. A gradient fixes u only up to a constant and a Laplacian only up to a harmonic function, so the network
is aligned before it is scored, by least squares against the reference image over the pixels where `weight` > 0,
per channel:
    gradient supervision:  Phi + a                  (offset matched: a = mean of u - Phi)
    Laplacian supervision: Phi + a + b y + c x      (offset and the linear harmonic functions; higher harmonics
                                                     are left in, so the image PSNR still shows their error)
The gradient of the aligned image is grad Phi + (b, c); its Laplacian is lap Phi.

Scores (`evaluate`):
    psnr       image PSNR on [0, 1] of the aligned image (clipped to [0, 1]) against the reference, over weight > 0
    psnr_grad  10 log10(R^2 / MSE) of the aligned gradient against the true gradient, R = max - min of the true
               gradient over all pixels, channels and components (both in grid units of the [-1, 1] image)
    psnr_lap   the same for the Laplacian, R = range of the true Laplacian
The paper's PSNR normalisation for these is not in its code (which logs no Poisson PSNR), so the paper's numbers
compare in ordering and rough size only.

Editing (`siren.tasks.edit`): guidance field v = g_b + alpha * m * (g_f - g_b) with g_b, g_f the Sobel gradients of
background and foreground and m the mask (1 everywhere when none is given), supervised at every pixel. Without a
mask (alpha 0.5 by default) v is exactly the gradient of the alpha blend: the paper's composite, scored against
that blend. With a mask (alpha 1 by default) it is seamless cloning (Perez et al. 2003): the foreground's gradient
inside, the background's outside, and the background's values are also supervised outside the mask (the Dirichlet
condition of Perez et al.; see `pinned`). Without that term the least-squares fit would spread the mismatch at the
seam over the whole background as a smooth shading; with it the correction stays inside the mask. The composite's
offset is fitted, and its PSNR measured, outside the mask (against the background).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import diff, metrics, viz
from ..data.grid import grid, random_indices
from ..data.image import image_gradient, image_laplacian, input_image, save_image
from ..errors import SirenError
from ..metrics import to_unit, unit_psnr
from ..options import option
from ..rendering import render_derivatives
from .base import MAX_BATCH, Output, Task, register

SUPERVISE = ("gradient", "laplacian")
ALIGN = {"gradient": "offset", "laplacian": "linear"}


def alignment_basis(coords: torch.Tensor, kind: str) -> torch.Tensor:
    """coords (N, 2) -> basis (N, k) of functions the supervision cannot see: [1] ("offset") or [1, y, x] ("linear")."""
    ones = torch.ones_like(coords[:, :1])
    if kind == "offset":
        return ones
    if kind == "linear":
        return torch.cat([ones, coords], dim=1)
    raise ValueError(f"unknown alignment {kind!r} (choose offset or linear)")


def align(pred: torch.Tensor, reference: torch.Tensor, basis: torch.Tensor, weight: torch.Tensor | None = None):
    """Least-squares alignment per channel: c = argmin sum_n w_n |pred_n + B_n c - ref_n|^2.

    pred, reference (N, C); basis B (N, k); weight (N,) or None (all ones) -> (pred + B c (N, C), c (k, C)).
    """
    b = basis.double()
    w = torch.ones_like(b[:, 0]) if weight is None else weight.double()
    resid = (reference - pred).double()
    coef = torch.linalg.solve(b.T @ (w[:, None] * b), b.T @ (w[:, None] * resid))
    return pred + (b @ coef).to(pred.dtype), coef.to(pred.dtype)


def field_psnr(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR of a derivative field with the truth's range (max - min over all entries) as the peak."""
    return metrics.psnr(pred, truth, data_range=float(truth.max() - truth.min()) or 1.0)


@dataclass
class PoissonConfig:
    path: str | None = option(None, "image file (PNG, JPEG, TIFF, ...)", positional=True)
    demo: str | None = option(None, "bundled image: cameraman, astronaut, coffee, ...")
    size: int | None = option(256, "resize so the longer side has this many pixels")
    supervise: str = option("gradient", "the only signal the network sees", choices=list(SUPERVISE))


@register
class PoissonTask(Task):
    """Fit a network whose gradient or Laplacian matches `target`; the image itself is never seen.

    target: (H, W, C, 2) gradient or (H, W, C) Laplacian, grid units; supervise: "gradient" | "laplacian";
    reference: (H, W, C) in [-1, 1], what the network is aligned to and scored against;
    truths: {"gradient": (H, W, C, 2), "laplacian": (H, W, C)}, the fields scored (default: both, of `reference`);
    weight: (H, W) >= 0, where the alignment is fitted and the image scored (default everywhere);
    pinned: (H, W) bool, where the reference values are supervised too (a Dirichlet condition; default nowhere),
    as the extra loss term lambda * mean over pinned points of (Phi - reference)^2, lambda = ((max(H, W) - 1) / 2)^2
    so that a value error counts like the same error over one pixel step of the gradient.
    """

    name = "poisson"
    help = "reconstruct an image from its gradient or Laplacian only"
    Config = PoissonConfig

    @classmethod
    def from_config(cls, config: PoissonConfig):
        return image_task(input_image(config.path, config.demo, config.size), config.supervise,
                          source=config.demo or str(config.path))

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "cameraman", "--size", "12", "--supervise", "laplacian"]

    def __init__(self, target: np.ndarray, supervise: str, reference: np.ndarray, truths: dict | None = None,
                 weight: np.ndarray | None = None, pinned: np.ndarray | None = None, max_batch: int = MAX_BATCH,
                 metric_name: str = "psnr", meta: dict | None = None):
        if supervise not in SUPERVISE:
            raise SirenError(f"unknown supervision {supervise!r} (choose gradient or laplacian)")
        self.supervise, self.max_batch, self.metric_name = supervise, max_batch, metric_name
        self.shape, self.out_features, self.in_features = reference.shape[:2], reference.shape[2], 2
        if truths is None:
            truths = {"gradient": image_gradient(reference), "laplacian": image_laplacian(reference)}
        n, c = int(np.prod(self.shape)), self.out_features
        self.target = torch.from_numpy(target.reshape(n, c, *target.shape[3:])).float()
        self.reference = torch.from_numpy(reference.reshape(n, c)).float()
        self.truths = {k: torch.from_numpy(v).float() for k, v in truths.items()}
        self.weight = None if weight is None or not weight.any() else torch.from_numpy(weight.reshape(n)).float()
        self.pinned = None if pinned is None or not pinned.any() else torch.from_numpy(pinned.reshape(n))
        self.value_weight = ((max(self.shape) - 1) / 2.0) ** 2
        self.coords = grid(self.shape)
        self.meta_extra = meta or {}

    def model_hints(self) -> dict:
        return {"sidelength": min(self.shape)}

    def to(self, device):
        self.coords, self.target, self.reference = (t.to(device) for t in (self.coords, self.target, self.reference))
        self.truths = {k: v.to(device) for k, v in self.truths.items()}
        self.weight, self.pinned = (None if t is None else t.to(device) for t in (self.weight, self.pinned))
        return self

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        n = self.coords.shape[0]
        idx = (slice(None) if n <= self.max_batch      # full batch: views of the grid and targets, no gather copies
               else random_indices(n, self.max_batch, generator).to(self.coords.device))
        grad_needed = self.supervise == "gradient"
        out = diff.derivatives(model, self.coords[idx], gradient=grad_needed, laplacian=not grad_needed)
        field = out.gradient if grad_needed else out.laplacian()
        terms = {f"{self.supervise}_mse": ((field - self.target[idx]).pow(2).mean(), 1.0)}
        if self.pinned is not None:
            pinned = self.pinned[idx]
            if pinned.any():
                err = (out.value[pinned] - self.reference[idx][pinned]).pow(2).mean()
                terms["value_mse"] = (err, self.value_weight)
        return terms

    def solve(self, model):
        """Aligned image (H, W, C) in [-1, 1] units, its gradient (H, W, C, 2) and Laplacian (H, W, C), detached."""
        value, grad, lap = render_derivatives(model, self.shape)
        basis = alignment_basis(self.coords, ALIGN[self.supervise])
        aligned, coef = align(value.reshape(-1, self.out_features), self.reference, basis, self.weight)
        if coef.shape[0] > 1:
            grad = grad + coef[1:].T  # (C, 2): d/dy, d/dx of the fitted linear term
        return aligned.reshape(value.shape), grad, lap

    def scores(self, image, grad, lap) -> dict:
        """PSNRs of `solve`'s output (see the module docstring)."""
        pred, ref = image.reshape(self.reference.shape), self.reference
        if self.weight is not None:
            pred, ref = pred[self.weight > 0], ref[self.weight > 0]
        out = {"psnr": unit_psnr(pred, ref)}
        if "gradient" in self.truths:
            out["psnr_grad"] = field_psnr(grad, self.truths["gradient"])
        if "laplacian" in self.truths:
            out["psnr_lap"] = field_psnr(lap, self.truths["laplacian"])
        return out

    def evaluate(self, model) -> dict:
        return self.scores(*self.solve(model))

    def meta(self) -> dict:
        return {"task": self.name, "supervise": self.supervise, "shape": list(self.shape),
                "channels": self.out_features, "align": ALIGN[self.supervise], **self.meta_extra}

    def derivative_rows(self, image, grad, lap) -> dict:
        """(image in [0, 1], |gradient|, Laplacian) rows for `viz.derivative_figure`, truth first when known;
        derivatives halved to the units of the [0, 1] image."""
        rows = {}
        if {"gradient", "laplacian"} <= set(self.truths):
            rows["ground truth"] = (to_unit(self.reference.reshape(image.shape)).cpu().numpy(),
                                    viz.gradient_magnitude(self.truths["gradient"]) / 2,
                                    self.truths["laplacian"].mean(-1).cpu().numpy() / 2)
        rows[f"from {self.supervise}"] = (to_unit(image).cpu().numpy(), viz.gradient_magnitude(grad) / 2,
                                         lap.mean(-1).cpu().numpy() / 2)
        return rows

    def write_outputs(self, model, out_dir: Path, history: list, image_name: str = "reconstruction.png"):
        out_dir = Path(out_dir)
        image, grad, lap = self.solve(model)
        result = {**self.scores(image, grad, lap), "supervise": self.supervise, "align": ALIGN[self.supervise]}
        save_image(out_dir / image_name, to_unit(image))
        viz.derivative_figure(self.derivative_rows(image, grad, lap), out_dir / "derivatives.png")
        viz.curve(history, self.metric_name, out_dir / f"{self.metric_name}.png", ylabel="PSNR (dB)")
        return result, [Output(image_name, "image", f"the image from its {self.supervise} alone, aligned "
                               f"({ALIGN[self.supervise]}), {result['psnr']:.2f} dB PSNR"),
                        Output("derivatives.png", "figure", "image, gradient magnitude and Laplacian: truth and fit"),
                        Output(f"{self.metric_name}.png", "figure", f"{self.metric_name} (dB) against training step"),
                        *self._extra_outputs(image, out_dir)]

    def _extra_outputs(self, image: torch.Tensor, out_dir: Path) -> list[Output]:
        """Hook for subclasses: more files from `solve`'s aligned image (H, W, C), without solving again."""
        return []


def image_task(img: np.ndarray, supervise: str, max_batch: int = MAX_BATCH, **meta) -> PoissonTask:
    """Reconstruct img (H, W, C) in [0, 1] from its Sobel gradient or 5-point Laplacian (see module docstring)."""
    if supervise not in SUPERVISE:
        raise SirenError(f"unknown supervision {supervise!r} (choose gradient or laplacian)")
    u = 2.0 * img - 1.0
    truths = {"gradient": image_gradient(u), "laplacian": image_laplacian(u)}
    return PoissonTask(truths[supervise], supervise, u, truths, max_batch=max_batch, meta=meta)


