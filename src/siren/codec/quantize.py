"""Uniform symmetric quantization of weight tensors and its straight-through estimator for QAT.

With b bits per tensor, L = 2^(b-1) - 1 and step s = max|w| / L (rounded up to a float16 value, as stored):

    q = clamp(round(w / s), -L, L),   w^ = q s,   |w - w^| <= s / 2 for every w of the tensor.

A complex tensor is quantized as its real view (..., 2). QAT uses w + (w^ - w).detach(): the forward pass sees the
quantized weights, the gradient flows to w unchanged.
"""
from __future__ import annotations

import numpy as np
import torch

from .entropy import levels

__all__ = ["step_for", "quantize", "dequantize", "fake_quantize"]


def _real(w: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(w) if w.is_complex() else w


def step_for(w: torch.Tensor, bits: int) -> float:
    """The step s = max|w| / L rounded up to the nearest float16 (> 0), so max|w| / s <= L."""
    top = float(_real(w).detach().abs().max()) if w.numel() else 0.0
    s = np.float16(max(top / levels(bits), 2.0 ** -24))
    if float(s) * levels(bits) < top:
        s = np.nextafter(s, np.float16(np.inf))
    return float(s)


def quantize(w: torch.Tensor, step: float, bits: int) -> torch.Tensor:
    """w (any shape; complex: its real view) -> int64 symbols q in [-L, L], same shape (real view)."""
    lim = levels(bits)
    return torch.clamp(torch.round(_real(w).detach().float() / step), -lim, lim).long()


def dequantize(q: torch.Tensor, step: float, like: torch.Tensor | None = None) -> torch.Tensor:
    """q * step in float32 (complex when `like` is complex), shaped like `like` when given."""
    w = q.to(torch.float32) * torch.tensor(step, dtype=torch.float32)
    if like is not None and like.is_complex():
        return torch.view_as_complex(w.reshape(*like.shape, 2).contiguous())
    return w if like is None else w.reshape(like.shape)


def fake_quantize(w: torch.Tensor, step: float, bits: int) -> torch.Tensor:
    """Straight-through quantization: forward q s (clamped), backward identity."""
    real = _real(w)
    lim = levels(bits)
    wq = torch.clamp(torch.round(real / step), -lim, lim) * step
    out = real + (wq - real).detach()
    return torch.view_as_complex(out) if w.is_complex() else out
