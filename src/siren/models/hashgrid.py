"""Multiresolution hash encoding (Mueller et al., "Instant Neural Graphics Primitives with a Multiresolution Hash
Encoding", SIGGRAPH 2022), in plain PyTorch (no CUDA extension).

Inputs x in [-1, 1]^d (clamped), d = 1, 2 or 3, mapped to u = (x + 1) / 2 in [0, 1]^d. Level l = 0..L-1 is a grid of
resolution N_l = floor(N_min b^l); the point's cell has the 2^d corners v = floor(u N_l) + c, c in {0, 1}^d, and

    enc_l(x) = sum_c w_c theta_l[h_l(v)],   w_c = prod_i (t_i if c_i = 1 else 1 - t_i),   t = u N_l - floor(u N_l)

(d-linear interpolation), theta_l a table of T entries of F features, ~ U(-1e-4, 1e-4) as in the paper. The index
is 1:1 while the level's (N_l + 1)^d vertices fit the table, h_l(v) = sum_i v_i (N_l + 1)^i, else the paper's
spatial hash h_l(v) = (XOR_i v_i pi_i) mod T, pi = (1, 2654435761, 805459861). The encoding is
[enc_0, ..., enc_{L-1}] (L F features).

Derivatives: enc is continuous and piecewise d-linear (its gradient jumps across cell faces), so behind a ReLU MLP
every per-axis second derivative d2y/dx_i2, hence every Laplacian, vanishes inside the cells; only the mixed ones
(i != j) do not. Losses on Laplacians (Poisson, wave, Helmholtz) get no signal from such a network.
"""
from __future__ import annotations

import itertools
import math

import torch
from torch import nn

PRIMES = (1, 2654435761, 805459861)


class HashEncoding(nn.Module):
    """x (..., d) in [-1, 1]^d -> (..., levels * features_per_level), the levels coarse to fine.

    levels L, table_size T (entries per level), features_per_level F, base_resolution N_min, growth_factor b."""

    def __init__(self, in_features: int, levels: int = 8, table_size: int = 2 ** 14, features_per_level: int = 2,
                 base_resolution: int = 16, growth_factor: float = 1.5):
        super().__init__()
        if not 1 <= in_features <= len(PRIMES):
            raise ValueError(f"the hash encoding takes 1 to {len(PRIMES)} input dimensions, not {in_features}")
        if levels < 1 or table_size < 1 or features_per_level < 1 or base_resolution < 1 or growth_factor < 1:
            raise ValueError("HashEncoding needs levels, table_size, features_per_level, base_resolution >= 1 and "
                             "growth_factor >= 1")
        self.in_features, self.table_size = in_features, table_size
        self.out_features = levels * features_per_level
        res = [math.floor(base_resolution * growth_factor ** l) for l in range(levels)]
        self.register_buffer("resolution", torch.tensor(res, dtype=torch.float64), persistent=False)
        self.register_buffer("strides", torch.tensor([[(n + 1) ** i for i in range(in_features)] for n in res]),
                             persistent=False)                                               # (L, d)
        self.register_buffer("dense", torch.tensor([(n + 1) ** in_features <= table_size for n in res]),
                             persistent=False)                                               # (L,)
        self.register_buffer("corners", torch.tensor(list(itertools.product((0, 1), repeat=in_features))),
                             persistent=False)                                               # (2^d, d)
        self.register_buffer("primes", torch.tensor(PRIMES[:in_features]), persistent=False)
        self.tables = nn.Parameter(torch.empty(levels, table_size, features_per_level).uniform_(-1e-4, 1e-4))

    def index(self, vertices: torch.Tensor) -> torch.Tensor:
        """Table rows of integer grid vertices (..., L, K, d) of each level -> (..., L, K): 1:1 on the dense levels,
        hashed on the others."""
        hashed = (vertices * self.primes).unbind(-1)
        h = hashed[0]
        for part in hashed[1:]:
            h = torch.bitwise_xor(h, part)
        return torch.where(self.dense[:, None], (vertices * self.strides[:, None]).sum(-1), h % self.table_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, d = x.shape[:-1], x.shape[-1]
        u = ((x.reshape(-1, d) + 1) / 2).clamp(0, 1)
        n = self.resolution.to(u.dtype)[:, None]                                      # (L, 1)
        scaled = u[:, None, :] * n                                                     # (P, L, d)
        cell = torch.minimum(scaled.detach().floor(), n - 1)                           # u = 1 lies in the last cell
        t = (scaled - cell)[:, :, None, :]                                             # (P, L, 1, d)
        weights = torch.where(self.corners.bool(), t, 1 - t).prod(-1)                  # (P, L, 2^d)
        rows = self.index(cell.long()[:, :, None, :] + self.corners)                    # (P, L, 2^d)
        L, T, F = self.tables.shape
        rows = rows + torch.arange(L, device=x.device)[:, None] * T                    # rows of the (L T, F) table
        feats = self.tables.reshape(L * T, F)[rows]                                    # (P, L, 2^d, F)
        return (weights[..., None] * feats).sum(-2).reshape(*lead, L * F)

    def extra_repr(self) -> str:
        L, T, F = self.tables.shape
        return f"levels={L}, table_size={T}, features_per_level={F}, resolutions={self.resolution.long().tolist()}"
