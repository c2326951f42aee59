"""The discretised Laplace distribution of a latent: its bit cost while training, its integer tables for coding.

A latent y (an integer in [-LIMIT, LIMIT]) with mean mu and scale b has probability

    P(y) = C(y + 1/2) - C(y - 1/2),   C(x) = 1/2 + 1/2 sign(x - mu) (1 - exp(-|x - mu| / b)),

computed stably with z = |y - mu|:  z >= 1/2: P = 1/2 exp(-(z - 1/2) / b) (1 - exp(-1/b));
z < 1/2: P = 1 - 1/2 exp(-(1/2 - z) / b) - 1/2 exp(-(1/2 + z) / b).

For coding, mu and log2 b are quantized: mu to MEAN_STEPS steps per unit (mu = m + f / MEAN_STEPS, m an integer,
0 <= f < MEAN_STEPS), log2 b to SCALE_STEPS steps per octave (t in [T_MIN, T_MAX], b = 2^(t / SCALE_STEPS)). The
table of (f, t) holds round(2^PRECISION P(m + d)) for d = y - m in [-SPAN, SPAN], computed with `exp` below (+, *,
/ and ldexp only, so every platform builds the same integers) and handed to the range coder as exact integers.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["LIMIT", "SPAN", "MEAN_STEPS", "SCALE_STEPS", "T_MIN", "T_MAX", "PRECISION", "bits", "exp", "table",
           "index"]

LIMIT = 63                          # latents are integers in [-LIMIT, LIMIT]
SPAN = 2 * LIMIT                    # d = y - m lies in [-SPAN, SPAN]
MEAN_STEPS, SCALE_STEPS = 8, 8
T_MIN, T_MAX = -5 * SCALE_STEPS, 6 * SCALE_STEPS     # b in [2^-5, 2^6]
PRECISION = 20
CAP = 20.0                          # the training cost of one latent is capped here (P floored at 2^-CAP)
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_TAYLOR = [1.0 / math.factorial(n) for n in range(18)]


def exp(x: np.ndarray) -> np.ndarray:
    """exp(x) in float64 for x in [-700, 700], the same bits on every platform: x = k ln2 + r (|r| <= ln2 / 2), a
    degree-17 Taylor polynomial in r (Horner), times 2^k (exact)."""
    x = np.asarray(x, dtype=np.float64)
    k = np.floor(x / (_LN2_HI + _LN2_LO) + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _TAYLOR[-1])
    for c in reversed(_TAYLOR[:-1]):
        p = p * r + c
    return np.ldexp(p, k.astype(np.int64))


def bits(y: torch.Tensor, mu: torch.Tensor, log2b: torch.Tensor) -> torch.Tensor:
    """-log2 P(y) elementwise (y, mu, log2b of one shape; log2b clamped to [T_MIN, T_MAX] / SCALE_STEPS), capped at
    CAP; differentiable in all three (training's; PyTorch is imported here, so the decoder's tables need only
    NumPy)."""
    import torch
    b = torch.exp2(log2b.clamp(T_MIN / SCALE_STEPS, T_MAX / SCALE_STEPS))
    z = (y - mu).abs()
    tail = (-(z - 0.5).clamp(min=0) / b + torch.log(-torch.expm1(-1.0 / b))) / math.log(2) - 1.0
    centre = torch.log2((1 - 0.5 * torch.exp(-(0.5 - z).clamp(min=0) / b) - 0.5 * torch.exp(-(0.5 + z) / b))
                        .clamp(min=2.0 ** -CAP))
    return -torch.where(z >= 0.5, tail, centre).clamp(min=-CAP)


@lru_cache(maxsize=1)
def table() -> np.ndarray:
    """(MEAN_STEPS * (T_MAX - T_MIN + 1), 2 SPAN + 1) float64 integer frequencies: row f (T_MAX - T_MIN + 1) +
    (t - T_MIN) is the law of d = y - m for mu = m + f / MEAN_STEPS, b = 2^(t / SCALE_STEPS)."""
    f = np.arange(MEAN_STEPS, dtype=np.float64)[:, None, None] / MEAN_STEPS
    t = np.arange(T_MIN, T_MAX + 1, dtype=np.float64)[None, :, None] / SCALE_STEPS
    d = np.arange(-SPAN, SPAN + 1, dtype=np.float64)[None, None, :]
    b = exp(t * (_LN2_HI + _LN2_LO))
    z = np.abs(d - f)
    tail = 0.5 * exp(-np.maximum(z - 0.5, 0) / b) * (1 - exp(-1.0 / b))
    centre = 1 - 0.5 * exp(-np.maximum(0.5 - z, 0) / b) - 0.5 * exp(-(0.5 + z) / b)
    p = np.where(z >= 0.5, tail, centre)
    return np.floor(p * 2.0 ** PRECISION + 0.5).reshape(-1, 2 * SPAN + 1)


def index(mu_q: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantized parameters -> (row of `table`, m). mu_q: the mean in 1 / MEAN_STEPS units (integers, clamped to
    +-LIMIT MEAN_STEPS); t: log2 b in 1 / SCALE_STEPS units (integers, clamped to [T_MIN, T_MAX])."""
    mu_q = np.clip(mu_q, -LIMIT * MEAN_STEPS, LIMIT * MEAN_STEPS).astype(np.int64)
    m = np.floor_divide(mu_q, MEAN_STEPS)
    t = np.clip(t, T_MIN, T_MAX).astype(np.int64)
    return (mu_q - m * MEAN_STEPS) * (T_MAX - T_MIN + 1) + (t - T_MIN), m
