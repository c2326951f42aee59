"""Fitting a signal directly: loss = mean squared error between the network and the samples.

Works for any Signal (image, audio, video): coordinates are the signal's grid in [-1, 1]^d, values in [-1, 1].
Full batch when the signal has at most `max_batch` samples, random coordinate batches otherwise.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .. import diff, metrics, viz
from ..data.grid import grid, random_indices
from ..data.image import save_image
from ..data.signal import Signal
from . import fit_media

MAX_BATCH = 262_144


@torch.no_grad()
def render(model, shape, chunk: int = 65_536) -> torch.Tensor:
    """Evaluate the model on a regular grid of `shape` over [-1, 1]^d, in chunks -> (*shape, C)."""
    p = next(model.parameters())
    coords = grid(shape, device=p.device, dtype=p.dtype)
    out = torch.cat([diff.value_and_derivatives(model, c, gradient=False)[0] for c in coords.split(chunk)])
    return out.reshape(*shape, -1)


def render_derivatives(model, shape, chunk: int = 16_384):
    """Value, gradient and Laplacian on a grid, chunked -> (*shape, C), (*shape, C, d), (*shape, C), detached.

    Derivatives are w.r.t. the [-1, 1] coordinates.
    """
    p = next(model.parameters())
    parts = []
    for c in grid(shape, device=p.device, dtype=p.dtype).split(chunk):
        y, g, lap = diff.value_and_derivatives(model, c, gradient=True, laplacian=True)
        parts.append((y.detach(), g.detach(), lap.detach()))
    y, g, lap = (torch.cat(p) for p in zip(*parts))
    return y.reshape(*shape, -1), g.reshape(*shape, *g.shape[1:]), lap.reshape(*shape, -1)


def to_unit(values: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clipped."""
    return ((values + 1.0) / 2.0).clamp(0.0, 1.0)


def unit_psnr(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR (dB) of two signals in [-1, 1], compared on [0, 1] after clipping (`to_unit`)."""
    return metrics.psnr(to_unit(pred), to_unit(truth))


class FitTask:
    """Fit a Signal by MSE. metric: PSNR on [0, 1] (images, video: mean over frames), SNR in dB (audio).

    Audio and video evaluation and outputs live in `fit_media`. Video batches draw `max_batch` voxels with
    replacement (the paper's sampler: O(batch) per step, where a permutation of every voxel would be O(T H W)).
    """

    metric_name = "psnr"

    def __init__(self, signal: Signal, max_batch: int = MAX_BATCH):
        self.signal = signal
        self.max_batch = max_batch
        self.in_features, self.out_features = signal.dim, signal.channels
        self.coords, self.values = signal.coords(), signal.flat_values()
        if signal.kind == "audio":
            self.metric_name = "snr"

    def model_options(self, model_name: str) -> dict:
        options = fit_media.model_options(self.signal.kind, model_name)
        if model_name == "relu_pe" and self.signal.dim <= 2:
            options["sidelength"] = min(self.signal.shape)
        return options

    def to(self, device):
        self.coords, self.values = self.coords.to(device), self.values.to(device)
        return self

    def loss(self, model, generator: torch.Generator) -> dict:
        n = self.coords.shape[0]
        if n <= self.max_batch:
            coords, values = self.coords, self.values
        else:
            idx = (torch.randint(n, (self.max_batch,), generator=generator) if self.signal.kind == "video"
                   else random_indices(n, self.max_batch, generator)).to(self.coords.device)
            coords, values = self.coords[idx], self.values[idx]
        value = diff.value_and_derivatives(model, coords, gradient=False)[0]  # fused sine layers when supported
        return {"mse": (value - values).pow(2).mean()}

    def evaluate(self, model) -> dict:
        if self.signal.kind != "image":
            return fit_media.evaluate(self, model)
        pred = render(model, self.signal.shape)
        truth = self.values.reshape(pred.shape)
        return {"psnr": unit_psnr(pred, truth)}

    def meta(self) -> dict:
        return {"task": "fit", "kind": self.signal.kind, "shape": list(self.signal.shape),
                "channels": self.signal.channels, **self.signal.meta}

    def write_outputs(self, model, out_dir: Path, history: list) -> dict:
        if self.signal.kind != "image":
            return fit_media.write_outputs(self, model, out_dir, history)
        out_dir = Path(out_dir)
        pred, grad, lap = render_derivatives(model, self.signal.shape)  # values in [-1, 1]: halve derivatives
        truth = self.values.reshape(pred.shape).cpu()
        pred_u, truth_u = to_unit(pred).cpu(), to_unit(truth)
        result = {"psnr": metrics.psnr(pred_u, truth_u), "ssim": metrics.ssim(pred_u, truth_u),
                  "steps": history[-1]["step"] if history else 0}
        save_image(out_dir / "reconstruction.png", pred_u)
        viz.derivative_figure({"ground truth": viz.image_derivatives(truth_u.numpy()),
                               "fit": (pred_u.numpy(), gradient_magnitude(grad) / 2, lap.cpu().numpy().mean(-1) / 2)},
                              out_dir / "derivatives.png")
        viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="PSNR (dB)")
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        return result


def gradient_magnitude(grad: torch.Tensor) -> np.ndarray:
    """(H, W, C, 2) gradient -> (H, W) magnitude averaged over channels."""
    return grad.norm(dim=-1).mean(-1).cpu().numpy()
