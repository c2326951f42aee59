"""The latent-grid image model (Cool-chic / C3): integer latent grids, fixed bilinear upsampling, a per-pixel
synthesis network with residual 3 x 3 convolutions, and an entropy model over each latent's causal context.

    features  f = (grid_i upsampled to H x W / 16^i)_i                       (L, H, W)    `grids.upsample`
    pixels    x = c_K(...c_1(M(f))),  M: L -> width -> ReLU -> C per pixel,  c_j(x) = x + conv3x3_j(x)   (C, H, W)
    entropy   (mu, log2 b) = A(context), A: scheme.size -> arm -> ReLU (x arm_layers) -> 2;  bits = sum -log2 P(y)

This module trains it in float32; `exact` evaluates the same architecture (`layout.Arch`) in fixed point for coding,
in NumPy.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import blocked
from . import grids as G
from . import laplace
from .conv import conv3x3
from .layout import Arch

__all__ = ["Arch", "LatentImage", "soft_round", "LOG2_SCALE"]

LOG2_SCALE = -4.0       # the entropy model starts at b = 2^LOG2_SCALE: zero latents cost almost nothing


def soft_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """C3's soft rounding: floor(x) + 1/2 + tanh(r / T) / (2 tanh(1 / (2T))), r = x - floor(x) - 1/2 (-> round(x) as
    T -> 0, -> x as T -> inf)."""
    base = torch.floor(x)
    r = x - base - 0.5
    return base + 0.5 + torch.tanh(r / temperature) / (2 * torch.tanh(torch.tensor(0.5 / temperature)))


def _mlp(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """Linear layers with ReLU between on x (in, N) -> (out, N), channels first (the fast layout for few channels):
    `blocked.mlp`."""
    return blocked.mlp(x, [(layer.weight, layer.bias) for layer in layers])


class LatentImage(nn.Module):
    """One image's model: `latents` (grid i: (ceil(H/2^i), ceil(W/2^i)), float while training), `entropy` (the
    entropy model's Linear layers), `mlp` (the per-pixel Linear layers), `convs` (C -> C, 3 x 3)."""

    def __init__(self, arch: Arch, size: tuple[int, int]):
        super().__init__()
        self.arch, self.size, self.scheme = arch, tuple(size), G.CHECKERBOARD
        self.latents = nn.ParameterList([nn.Parameter(torch.zeros(s)) for s in G.shapes(size, arch.grids)])
        arm, mlp = arch.arm_widths, arch.mlp_widths
        self.entropy = nn.ModuleList(nn.Linear(a, b) for a, b in zip(arm, arm[1:]))
        self.mlp = nn.ModuleList(nn.Linear(a, b) for a, b in zip(mlp, mlp[1:]))
        self.convs = nn.ModuleList(nn.Conv2d(arch.channels, arch.channels, 3) for _ in range(arch.convs))
        with torch.no_grad():
            self.entropy[-1].weight.mul_(0.1)
            self.entropy[-1].bias.copy_(torch.tensor([0.0, LOG2_SCALE]))
            self.mlp[-1].bias.fill_(0.5)
            for c in self.convs:
                c.weight.zero_()
                c.bias.zero_()

    def arm(self, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ctx (scheme.size, N) -> (mu, log2 b), each (N,)."""
        out = _mlp(self.entropy, ctx)
        return out[0], out[1]

    def synthesize(self, features: torch.Tensor) -> torch.Tensor:
        """features (L, H, W) -> pixels (C, H, W) (about [0, 1])."""
        L, H, W = features.shape
        x = _mlp(self.mlp, features.reshape(L, -1)).reshape(-1, H, W)
        for conv in self.convs:
            x = x + conv3x3(F.pad(x[None], (1, 1, 1, 1), mode="replicate"), conv.weight, conv.bias)[0]
        return x

    def features(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """Float latents -> (L, H, W) upsampled features (each grid / 16^i)."""
        scale = 16.0 ** -torch.arange(len(latents), dtype=latents[0].dtype)
        return G.upsample(latents, self.size) * scale[:, None, None]

    def contexts(self, latents: list[torch.Tensor]) -> torch.Tensor:
        """(scheme.size, N): every latent's context, grid 0 first, each grid in raster order."""
        return torch.cat([G.contexts(g, latents[i + 1] if i + 1 < len(latents) else None, self.scheme).flatten(1)
                          for i, g in enumerate(latents)], 1)

    def rate(self, latents: list[torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Total bits of the latents under the entropy model (float, differentiable), evaluated phase by phase
        (`grids.phase_contexts`). Phases of one pass that see no neighbour in their grid (the checkerboard's first
        pass) have the same contexts up to their size: the entropy model runs once for them, on the first one's
        (the largest). With a generator (training): grid 0, 3/4 of all latents, is estimated from one of its four
        phases drawn at random, times 4 (unbiased)."""
        blocks, uses = [], []       # contexts (size, rows, cols); (latents (rows, cols), weight, block)
        for i, g in enumerate(latents):
            parent = latents[i + 1] if i + 1 < len(latents) else None
            phases, weight = G.PHASES, 1.0
            if i == 0 and generator is not None:
                phases, weight = [G.PHASES[int(torch.randint(4, (), generator=generator))]], 4.0
            shared = {}             # pass -> the block of its phases that see no neighbour
            for dr, dc in phases:
                y = g[dr::2, dc::2]
                k, blind = self.scheme.passes[G.PHASES.index((dr, dc))], self.scheme.blind((dr, dc))
                b = shared.get(k) if blind else None
                if b is None or any(n > m for n, m in zip(y.shape, blocks[b].shape[1:])):
                    blocks.append(G.phase_contexts(g, parent, self.scheme, dr, dc))
                    b = len(blocks) - 1
                    if blind:
                        shared.setdefault(k, b)
                uses.append((y, weight, b))
        mu, log2b = self.arm(torch.cat([c.flatten(1) for c in blocks], 1))
        sizes = [c.shape[1] * c.shape[2] for c in blocks]
        maps = [(m.reshape(c.shape[1:]), v.reshape(c.shape[1:]))
                for m, v, c in zip(mu.split(sizes), log2b.split(sizes), blocks)]
        parts = laplace.bits(torch.cat([y.reshape(-1) for y, _, _ in uses]),
                             *(torch.cat([maps[b][j][:y.shape[0], :y.shape[1]].reshape(-1) for y, _, b in uses])
                               for j in (0, 1))).split([y.numel() for y, _, _ in uses])
        return sum(w * p.sum() for (_, w, _), p in zip(uses, parts))

    def quantized_latents(self, temperature: float | None, generator: torch.Generator | None = None,
                          noise: float = 1.0) -> list[torch.Tensor]:
        """The latents as training sees them: soft_round(soft_round(y, T) + a u, T), u ~ U(-1/2, 1/2) drawn with
        `generator`, for a temperature T and noise amplitude a = `noise`; round(y) with a straight-through gradient
        for T None."""
        out = []
        for y in self.latents:
            if temperature is None:
                out.append(y + (torch.round(y) - y).detach())
            else:
                u = (torch.rand(y.shape, generator=generator) - 0.5) * noise
                out.append(soft_round(soft_round(y, temperature) + u, temperature))
        return out

    def forward(self, temperature: float | None, generator: torch.Generator | None = None,
                sample: bool = False, noise: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (pixels (C, H, W), latent bits) of `quantized_latents(temperature, generator, noise)`; with `sample`,
        the bits of grid 0 estimated from one random phase (`rate`)."""
        y = self.quantized_latents(temperature, generator, noise)
        return self.synthesize(self.features(y)), self.rate(y, generator if sample else None)

    def clamp_(self) -> None:
        """Latents into [-LIMIT, LIMIT] (after an optimizer step)."""
        with torch.no_grad():
            for y in self.latents:
                y.clamp_(-laplace.LIMIT, laplace.LIMIT)

    def macs(self) -> int:
        """Multiply-adds of one decode: the entropy model on every latent, the upsampling (2 per output value per
        doubling axis), the per-pixel network and the convolutions on every pixel."""
        sizes = G.shapes(self.size, self.arch.grids)
        latents = sum(h * w for h, w in sizes)
        arm = sum(m.in_features * m.out_features for m in self.entropy)
        up = sum(2 * sizes[j][0] * (sizes[j + 1][1] + sizes[j][1]) for i in range(len(sizes)) for j in range(i))
        a = self.arch
        pixel = a.grids * a.width + a.width * a.channels + 9 * a.channels ** 2 * a.convs
        return latents * arm + up + pixel * self.size[0] * self.size[1]
