"""Input encodings used by the paper's baselines: NeRF positional encoding, random Fourier features, RBF layer.

Each also propagates a stacked jet (`siren.models.taylor`): `jet(S, nj, blocks)` maps the value, Jacobian and
second-order blocks of its input (K, N, d) to those of its output, exactly by the chain rule, for `siren.diff`."""
from __future__ import annotations

import math

import torch
from torch import nn

from .taylor import quad, trig_jet


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

    def jet(self, S: torch.Tensor, nj: int, blocks: tuple) -> torch.Tensor:
        Z = S[..., None, :] * self.freqs[:, None]                         # (K, N, F, d)
        enc = torch.stack(trig_jet(Z, nj, blocks), dim=-2).flatten(-3)   # (K, N, F * 2 * d)
        return torch.cat([S, enc], dim=-1)


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

    def jet(self, S: torch.Tensor, nj: int, blocks: tuple) -> torch.Tensor:
        sin, cos = trig_jet(2 * math.pi * S @ self.B.T, nj, blocks)
        return torch.cat([cos, sin], dim=-1)


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

    def jet(self, S: torch.Tensor, nj: int, blocks: tuple) -> torch.Tensor:
        """y_k = exp(-a_k r_k), r_k = |h - c_k|^2, a_k = sigma_k^2:  J_y = -a y J_r,  B_y = -a y B_r + a^2 y q(J_r),
        with J_r = 2 (h - c_k) . J_j and B_r = 2 q(J) + 2 (h - c_k) . B (q the block's pair sum)."""
        h = S[0]
        diff = h[..., None, :] - self.centres                            # (N, K, d_in)
        a = self.sigmas.pow(2)
        y = torch.exp(-diff.pow(2).sum(-1) * a)                          # exactly the module's forward
        out = [y[None]]
        if nj:
            SJ = S[1:1 + nj]
            Jr = 2 * torch.einsum("nkd,jnd->jnk", diff, SJ)              # (nj, N, K)
            ay = a * y
            out.append(-ay * Jr)
        for k, pairs in enumerate(blocks):
            Br = 2 * quad(SJ, pairs).sum(-1)[:, None] + 2 * torch.einsum("nkd,nd->nk", diff, S[1 + nj + k])
            out.append((-ay * Br + ay * a * quad(Jr, pairs))[None])
        return torch.cat(out, 0) if len(out) > 1 else out[0]
