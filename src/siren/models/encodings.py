"""Input encodings used by the paper's baselines: NeRF positional encoding, random Fourier features, RBF layer."""
from __future__ import annotations

import math

import torch
from torch import nn


def nyquist_frequencies(samples_per_dim: int) -> int:
    """The paper's rule for positional-encoding bands: floor(log2(samples / 4)), at least 1."""
    return max(1, int(math.floor(math.log2(samples_per_dim / 4.0))))


class PositionalEncoding(nn.Module):
    """NeRF encoding.  x: (..., d) -> (..., d + 2 d F): [x, sin(2^i pi x), cos(2^i pi x)] for i < F.

    Features are ordered per frequency, then per (sin, cos), then per input dimension.
    """

    def __init__(self, in_features: int, num_frequencies: int):
        super().__init__()
        self.in_features, self.num_frequencies = in_features, num_frequencies
        self.out_features = in_features * (1 + 2 * num_frequencies)
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(num_frequencies, dtype=torch.float32),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x[..., None, :] * self.freqs[:, None]                       # (..., F, d)
        enc = torch.stack([torch.sin(z), torch.cos(z)], dim=-2)          # (..., F, 2, d)
        return torch.cat([x, enc.flatten(-3)], dim=-1)


class FourierFeatures(nn.Module):
    """Gaussian random Fourier features (Tancik et al. 2020).  x: (..., d) -> (..., 2 m): [cos(2 pi B x), sin(2 pi B x)],
    B: (m, d) ~ N(0, scale^2), fixed (a buffer, saved with the model)."""

    def __init__(self, in_features: int, num_features: int = 256, scale: float = 10.0):
        super().__init__()
        self.in_features, self.out_features = in_features, 2 * num_features
        self.register_buffer("B", torch.randn(num_features, in_features) * scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * math.pi * x @ self.B.T
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


class RBFLayer(nn.Module):
    """Gaussian radial basis layer.  x: (..., d) -> (..., K): exp(-(sigma_k |x - c_k|)^2),
    centres c_k ~ U(-1, 1)^d and widths sigma_k (init `sigma`) both learned."""

    def __init__(self, in_features: int, num_centres: int = 1024, sigma: float = 10.0):
        super().__init__()
        self.in_features, self.out_features = in_features, num_centres
        self.centres = nn.Parameter(torch.empty(num_centres, in_features).uniform_(-1.0, 1.0))
        self.sigmas = nn.Parameter(torch.full((num_centres,), float(sigma)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d2 = (x[..., None, :] - self.centres).pow(2).sum(-1)
        return torch.exp(-d2 * self.sigmas.pow(2))
