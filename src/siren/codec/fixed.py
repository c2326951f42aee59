"""Exact fixed-point evaluation of a `LatentImage`: the same numbers on every CPU, thread count and BLAS.

Values are integers held in float64: an activation a stands for a / 2^FRAC; a weight tensor of step 2^-k holds
q = round(w 2^k). A layer computes acc = sum q a + q_b 2^(FRAC + k - k_b) (the bias q_b of step 2^-k_b) and
returns floor(acc / 2^k). Every product and partial sum is an integer below 2^53 (weights within 16 bits times
activations within 2^36, i.e. |a / 2^FRAC| < 2^20, over at most 9 x 255 terms), so float64 adds them exactly in
any order (a fused multiply-add, a blocked or threaded product give the same result), and torch's float32 matmul
precision does not apply to float64.

    entropy model: context (integer latents) a = y 2^FRAC -> (mu, log2 b) in 2^-FRAC units
                   -> mu_q = floor((MEAN_STEPS mu + 2^(FRAC-1)) / 2^FRAC), t likewise with SCALE_STEPS
    synthesis:     feature_i = floor(16^-i upsample_i 2^FRAC)  ->  pixel = clip(floor((255 x + 2^(FRAC-1)) / 2^FRAC))
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import grids as G
from . import laplace
from .latent import LatentImage

__all__ = ["FRAC", "Quantized", "quantize_layers", "parameters", "arm_indices", "pixels"]

FRAC = 16

Quantized = dict[str, tuple[torch.Tensor, int]]      # "<layer>.weight" / ".bias" -> (integers q (float64), k)


def parameters(model: LatentImage) -> list[str]:
    """The names of the network's tensors in file order (weight, then bias, per layer of `model.layers()`)."""
    return [f"{name}.{p}" for name, _ in model.layers() for p in ("weight", "bias")]


def quantize_layers(model: LatentImage, steps: dict[str, int]) -> Quantized:
    """Each network tensor -> (round(w 2^k), k) with k = steps[name]."""
    state = model.state_dict()
    return {n: (torch.round(state[n].detach().double() * 2.0 ** steps[n]), steps[n]) for n in parameters(model)}


def _apply(q: Quantized, names: dict[int, str]):
    def apply(layer: nn.Module, a: torch.Tensor) -> torch.Tensor:
        name = names[id(layer)]
        (w, k), (b, kb) = q[f"{name}.weight"], q[f"{name}.bias"]
        bias = torch.floor(b * 2.0 ** (FRAC + k - kb))
        return torch.floor((w.reshape(w.shape[0], -1) @ a + bias[:, None]) * 2.0 ** -k)
    return apply


def _applier(model: LatentImage, q: Quantized):
    return _apply(q, {id(m): name for name, m in model.layers()})


def arm_indices(model: LatentImage, q: Quantized, ctx: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Integer contexts (scheme.size, N) -> (rows of `laplace.table`, m) per latent, exactly."""
    mu, lb = model.arm(ctx.double() * 2.0 ** FRAC, _applier(model, q))
    half = 2.0 ** (FRAC - 1)
    mu_q = torch.floor((mu * laplace.MEAN_STEPS + half) * 2.0 ** -FRAC)
    t = torch.floor((lb * laplace.SCALE_STEPS + half) * 2.0 ** -FRAC)
    return laplace.index(mu_q.numpy(), t.numpy())


def features(latents: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Integer grids -> (L, H, W) fixed-point features floor(16^-i upsample_i 2^FRAC), exactly."""
    up = G.upsample([g.double() for g in latents], size)
    scale = torch.tensor([2.0 ** (FRAC - 4 * i) for i in range(len(latents))], dtype=torch.float64)
    return torch.floor(up * scale[:, None, None])


def pixels(model: LatentImage, q: Quantized, feats: torch.Tensor) -> np.ndarray:
    """Fixed-point features (L, H, W) -> (H, W, C) uint8."""
    x = model.synthesize(feats, _applier(model, q))
    out = torch.floor((x * 255 + 2.0 ** (FRAC - 1)) * 2.0 ** -FRAC).clamp(0, 255)
    return out.permute(1, 2, 0).to(torch.uint8).numpy()
