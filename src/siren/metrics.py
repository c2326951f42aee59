"""Quality metrics. Images are compared on [0, 1]."""
from __future__ import annotations

import numpy as np
import torch


def mse(pred, target) -> float:
    """Mean squared error of two arrays/tensors of the same shape."""
    pred, target = _np(pred), _np(target)
    return float(np.mean((pred - target) ** 2))


def psnr(pred, target, data_range: float = 1.0) -> float:
    """10 log10(range^2 / MSE) in dB (inf when equal)."""
    err = mse(pred, target)
    return float("inf") if err == 0 else float(10.0 * np.log10(data_range ** 2 / err))


def ssim(pred, target, data_range: float = 1.0) -> float:
    """Structural similarity of (H, W) or (H, W, C) images (scikit-image, channels averaged); NaN when a side is
    shorter than 3 pixels (smaller than the smallest SSIM window)."""
    from skimage.metrics import structural_similarity
    pred, target = _np(pred), _np(target)
    if min(pred.shape[:2]) < 3:
        return float("nan")
    if pred.ndim == 3 and pred.shape[-1] == 1:
        pred, target = pred[..., 0], target[..., 0]
    channel_axis = -1 if pred.ndim == 3 else None
    win = min(7, *(s if s % 2 else s - 1 for s in pred.shape[:2]))
    return float(structural_similarity(pred, target, data_range=data_range, channel_axis=channel_axis,
                                       win_size=max(win, 3)))


def to_unit(values: torch.Tensor) -> torch.Tensor:
    """A signal in [-1, 1] -> [0, 1], clipped (how images and videos are stored and scored)."""
    return ((values + 1.0) / 2.0).clamp(0.0, 1.0)


def unit_psnr(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR (dB) of two signals in [-1, 1], compared on [0, 1] after clipping (`to_unit`)."""
    return psnr(to_unit(pred), to_unit(truth))


def snr_db(pred, target) -> float:
    """Signal-to-noise ratio 10 log10(sum target^2 / sum (pred - target)^2) in dB."""
    pred, target = _np(pred), _np(target)
    noise = np.sum((pred - target) ** 2)
    return float("inf") if noise == 0 else float(10.0 * np.log10(np.sum(target ** 2) / noise))


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)
