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

Editing (`edit_task`): guidance field v = g_b + alpha * m * (g_f - g_b) with g_b, g_f the Sobel gradients of
background and foreground and m the mask (1 everywhere when none is given), supervised at every pixel. Without a
mask (alpha 0.5 by default) v is exactly the gradient of the alpha blend: the paper's composite, scored against
that blend. With a mask (alpha 1 by default) it is seamless cloning (Perez et al. 2003): the foreground's gradient
inside, the background's outside, and the background's values are also supervised outside the mask (the Dirichlet
condition of Perez et al.; see `pinned`). Without that term the least-squares fit would spread the mismatch at the
seam over the whole background as a smooth shading; with it the correction stays inside the mask. The composite's
offset is fitted, and its PSNR measured, outside the mask (against the background).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .. import diff, metrics, viz
from ..data.grid import grid, random_indices
from ..data.image import image_gradient, image_laplacian, save_image
from ..errors import SirenError
from .fit import MAX_BATCH, gradient_magnitude, render_derivatives, to_unit, unit_psnr

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


class PoissonTask:
    """Fit a network whose gradient or Laplacian matches `target`; the image itself is never seen.

    target: (H, W, C, 2) gradient or (H, W, C) Laplacian, grid units; supervise: "gradient" | "laplacian";
    reference: (H, W, C) in [-1, 1], what the network is aligned to and scored against;
    truths: {"gradient": (H, W, C, 2), "laplacian": (H, W, C)}, the fields scored (default: both, of `reference`);
    weight: (H, W) >= 0, where the alignment is fitted and the image scored (default everywhere);
    pinned: (H, W) bool, where the reference values are supervised too (a Dirichlet condition; default nowhere),
    as the extra loss term lambda * mean over pinned points of (Phi - reference)^2, lambda = ((max(H, W) - 1) / 2)^2
    so that a value error counts like the same error over one pixel step of the gradient.
    """

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

    def model_options(self, model_name: str) -> dict:
        return {"sidelength": min(self.shape)} if model_name == "relu_pe" else {}

    def to(self, device):
        self.coords, self.target, self.reference = (t.to(device) for t in (self.coords, self.target, self.reference))
        self.truths = {k: v.to(device) for k, v in self.truths.items()}
        self.weight, self.pinned = (None if t is None else t.to(device) for t in (self.weight, self.pinned))
        return self

    def loss(self, model, generator: torch.Generator) -> dict:
        n = self.coords.shape[0]
        idx = (slice(None) if n <= self.max_batch      # full batch: views of the grid and targets, no gather copies
               else random_indices(n, self.max_batch, generator).to(self.coords.device))
        grad_needed = self.supervise == "gradient"
        value, grad, lap = diff.value_and_derivatives(model, self.coords[idx], gradient=grad_needed,
                                                      laplacian=not grad_needed)
        terms = {f"{self.supervise}_mse": ((grad if grad_needed else lap) - self.target[idx]).pow(2).mean()}
        if self.pinned is not None:
            pinned = self.pinned[idx]
            if pinned.any():
                err = (value[pinned] - self.reference[idx][pinned]).pow(2).mean()
                terms["value_mse"] = self.value_weight * err
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
        return {"task": "poisson", "kind": "poisson", "supervise": self.supervise, "shape": list(self.shape),
                "channels": self.out_features, "align": ALIGN[self.supervise], **self.meta_extra}

    def derivative_rows(self, image, grad, lap) -> dict:
        """(image in [0, 1], |gradient|, Laplacian) rows for `viz.derivative_figure`, truth first when known;
        derivatives halved to the units of the [0, 1] image."""
        rows = {}
        if {"gradient", "laplacian"} <= set(self.truths):
            rows["ground truth"] = (to_unit(self.reference.reshape(image.shape)).cpu().numpy(),
                                    gradient_magnitude(self.truths["gradient"]) / 2,
                                    self.truths["laplacian"].mean(-1).cpu().numpy() / 2)
        rows[f"from {self.supervise}"] = (to_unit(image).cpu().numpy(), gradient_magnitude(grad) / 2,
                                         lap.mean(-1).cpu().numpy() / 2)
        return rows

    def write_outputs(self, model, out_dir: Path, history: list, image_name: str = "reconstruction.png") -> dict:
        out_dir = Path(out_dir)
        image, grad, lap = self.solve(model)
        result = {**self.scores(image, grad, lap), "supervise": self.supervise, "align": ALIGN[self.supervise],
                  "steps": history[-1]["step"] if history else 0}
        save_image(out_dir / image_name, to_unit(image))
        viz.derivative_figure(self.derivative_rows(image, grad, lap), out_dir / "derivatives.png")
        viz.curve(history, self.metric_name, out_dir / f"{self.metric_name}.png", ylabel="PSNR (dB)")
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        self._extra_outputs(image, out_dir)
        return result

    def _extra_outputs(self, image: torch.Tensor, out_dir: Path) -> None:
        """Hook for subclasses: more files from `solve`'s aligned image (H, W, C), without solving again."""


def image_task(img: np.ndarray, supervise: str, max_batch: int = MAX_BATCH, **meta) -> PoissonTask:
    """Reconstruct img (H, W, C) in [0, 1] from its Sobel gradient or 5-point Laplacian (see module docstring)."""
    if supervise not in SUPERVISE:
        raise SirenError(f"unknown supervision {supervise!r} (choose gradient or laplacian)")
    u = 2.0 * img - 1.0
    truths = {"gradient": image_gradient(u), "laplacian": image_laplacian(u)}
    return PoissonTask(truths[supervise], supervise, u, truths, max_batch=max_batch, meta=meta)


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


class EditTask(PoissonTask):
    """Poisson image editing: fit the guidance field of `edit_task`; writes composite.png and edit.png
    (background | foreground | pasted | composite)."""

    def __init__(self, target: np.ndarray, reference: np.ndarray, outside: np.ndarray | None, panels: dict,
                 mask: np.ndarray, meta: dict):
        super().__init__(target, "gradient", reference, {"gradient": target}, weight=outside, pinned=outside,
                         metric_name="psnr_grad", meta=meta)
        self.panels, self.mask = panels, mask

    def write_outputs(self, model, out_dir: Path, history: list, image_name: str = "composite.png") -> dict:
        return super().write_outputs(model, out_dir, history, image_name=image_name)

    def _extra_outputs(self, image: torch.Tensor, out_dir: Path) -> None:
        composite = to_unit(image).cpu().numpy()
        image_row({**self.panels, "Poisson composite": composite}, out_dir / "edit.png", outline=self.mask)


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
        raise SirenError(f"--alpha must be in [0, 1], got {alpha}")
    if not scale > 0:
        raise SirenError(f"--scale must be positive, got {scale}")
    h, w = background.shape[:2]
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


def image_row(images: dict, path: Path, outline: np.ndarray | None = None) -> None:
    """One row of labelled images (H, W, C) in [0, 1]; `outline` (H, W) bool is drawn as a contour on each."""
    plt = viz.pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.4), squeeze=False)
    for ax, (name, img) in zip(axes[0], images.items()):
        img = np.clip(img, 0.0, 1.0)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        if outline is not None and not outline.all() and name != "Poisson composite":
            ax.contour(outline, levels=[0.5], colors="yellow", linewidths=0.8)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
