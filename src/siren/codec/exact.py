"""Exact fixed-point evaluation of a latent-grid model (`layout.Arch`) in NumPy: the same numbers on every CPU,
thread count and BLAS, and a decoder without PyTorch. It evaluates the architecture of `latent.LatentImage` (which
trains it in float32) on the quantized network.

Values are integers held in float64: an activation a stands for a / 2^FRAC; a weight tensor of step 2^-k holds
q = round(w 2^k). A layer computes acc = sum q a + q_b 2^(FRAC + k - k_b) (the bias q_b of step 2^-k_b) and
returns floor(acc / 2^k). Every product and partial sum is an integer below 2^53 (weights within 16 bits times
activations within 2^36, i.e. |a / 2^FRAC| < 2^20, over at most 9 x 255 terms), so float64 adds them exactly in
any order (a fused multiply-add, a blocked or threaded product give the same result).

    entropy model: context (integer latents) a = y 2^FRAC -> (mu, log2 b) in 2^-FRAC units
                   -> mu_q = floor((MEAN_STEPS mu + 2^(FRAC-1)) / 2^FRAC), t likewise with SCALE_STEPS
    synthesis:     feature_i = floor(16^-i upsample_i 2^FRAC)  ->  pixel = clip(floor((255 x + 2^(FRAC-1)) / 2^FRAC))
"""
from __future__ import annotations

import numpy as np

from . import laplace
from .layout import Arch, double, doubling, shapes

__all__ = ["FRAC", "Quantized", "arm_indices", "features", "resample", "pixels"]

FRAC = 16
BLOCK = 1 << 14         # columns of a layer's input taken at once (the activations stay in cache)

Quantized = dict[str, tuple[np.ndarray, int]]      # "<layer>.weight" / ".bias" -> (integers q (float64), k)


def _layer(q: Quantized, name: str, a: np.ndarray) -> np.ndarray:
    """Layer `name` on a (in, N) -> (out, N) (a convolution's weight (C', C, 3, 3) taken as (C', 9 C))."""
    (w, k), (b, kb) = q[f"{name}.weight"], q[f"{name}.bias"]
    return np.floor((w.reshape(len(w), -1) @ a + np.floor(b * 2.0 ** (FRAC + k - kb))[:, None]) * 2.0 ** -k)


def _mlp(q: Quantized, name: str, count: int, a: np.ndarray) -> np.ndarray:
    """Layers name.0 .. name.(count-1) with ReLU between on a (in, N) -> (out, N), BLOCK columns at a time."""
    out = []
    for s in range(0, max(a.shape[1], 1), BLOCK):
        x = a[:, s:s + BLOCK]
        for i in range(count):
            x = _layer(q, f"{name}.{i}", x)
            if i < count - 1:
                x = np.maximum(x, 0.0)
        out.append(x)
    return np.concatenate(out, 1)


def arm_indices(arch: Arch, q: Quantized, ctx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer contexts (scheme size, N) -> (rows of `laplace.table`, m) per latent."""
    out = _mlp(q, "entropy", len(arch.arm_widths) - 1, ctx * 2.0 ** FRAC)
    half = 2.0 ** (FRAC - 1)
    mu_q = np.floor((out[0] * laplace.MEAN_STEPS + half) * 2.0 ** -FRAC)
    t = np.floor((out[1] * laplace.SCALE_STEPS + half) * 2.0 ** -FRAC)
    return laplace.index(mu_q, t)


def features(latents: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Integer grids -> (L, H, W) fixed-point features floor(16^-i upsample_i 2^FRAC): grids 2.. brought to grid 1's
    shape by `layout.doubling` matrices, then grids 1.. doubled together (`layout.double`)."""
    (h, w), (h1, w1) = shapes(size, 2)
    up = [latents[0]]
    if len(latents) > 1:
        half = np.stack([g if i == 1 else doubling(h1, i - 1) @ g @ doubling(w1, i - 1).T
                         for i, g in enumerate(latents) if i])
        up += list(double(double(half, 1, h), 2, w))
    scale = 2.0 ** (FRAC - 4 * np.arange(len(latents)))
    return np.floor(np.stack(up) * scale[:, None, None])


def _axis(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear resampling of n samples to m (half-pixel centres, edges clamped): (i0, i1, weight of i1)."""
    x = np.maximum((np.arange(m) + 0.5) * (n / m) - 0.5, 0.0)
    i0 = np.minimum(np.floor(x).astype(np.int64), n - 1)
    return i0, np.minimum(i0 + 1, n - 1), x - i0


def resample(feats: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Fixed-point features (L, H, W) -> (L, H', W') bilinearly resampled (pixel centres aligned), floored."""
    (r0, r1, fr), (c0, c1, fc) = _axis(feats.shape[1], size[0]), _axis(feats.shape[2], size[1])
    rows = feats[:, r0] * (1 - fr)[:, None] + feats[:, r1] * fr[:, None]
    return np.floor(rows[:, :, c0] * (1 - fc) + rows[:, :, c1] * fc)


def pixels(arch: Arch, q: Quantized, feats: np.ndarray) -> np.ndarray:
    """Fixed-point features (L, H, W) -> (H, W, C) uint8: the per-pixel network, then each residual 3 x 3
    convolution (edges replicated) as one product on the 9 shifted copies."""
    L, H, W = feats.shape
    x = _mlp(q, "mlp", len(arch.mlp_widths) - 1, feats.reshape(L, -1)).reshape(-1, H, W)
    for i in range(arch.convs):
        p = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
        shifted = np.stack([p[:, dy:dy + H, dx:dx + W] for dy in range(3) for dx in range(3)], 1)
        x = x + _layer(q, f"convs.{i}", shifted.reshape(9 * len(x), H * W)).reshape(x.shape)
    out = np.clip(np.floor((x * 255 + 2.0 ** (FRAC - 1)) * 2.0 ** -FRAC), 0, 255)
    return out.transpose(1, 2, 0).astype(np.uint8)
