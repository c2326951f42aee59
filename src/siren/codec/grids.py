"""Multi-resolution latent grids in PyTorch (training): their upsampling to the image and every latent's causal
context at once. The grids' shapes, the context scheme and the contexts of one phase are in `layout` (NumPy or
PyTorch).

`upsample` returns the sums of repeated doubling (`layout.double`) without the division, i.e. 16^i times the
upsampled values of grid i, so integer latents stay integers (exact in float64).
Training evaluates the entropy model phase by phase (`layout.phase_contexts`, `LatentImage.rate`); the coder pass
by pass on each pass's phases (`latent_code`); `contexts` gives every latent's at once (module docstring of
`layout`).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .layout import CHECKERBOARD, PHASES, Scheme, doubling, parent_maps, phase_contexts, shapes

__all__ = ["PHASES", "Scheme", "CHECKERBOARD", "shapes", "upsample", "contexts", "phase_contexts"]


@functools.lru_cache(maxsize=256)
def _doubling(n: int, times: int) -> torch.Tensor:
    return torch.from_numpy(doubling(n, times))


def upsample(grids: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Grids [(h_i, w_i)] (i = 0 .. L-1, shapes as `shapes`) -> (L, H, W): grid i doubled i times, times 16^i.
    Grids 2.. are brought to grid 1's shape by matrix products (`layout.doubling`), then grids 1.. doubled
    together by PyTorch's bilinear x2 (align_corners=False: the same taps and edges; its weights 1/4 and 3/4 keep
    integers exact in float64)."""
    if len(grids) == 1:
        return grids[0][None]
    (h, w), (h1, w1) = shapes(size, 2)
    half = torch.stack([g if i == 1 else _doubling(h1, i - 1).to(g.dtype) @ g @ _doubling(w1, i - 1).to(g.dtype).T
                        for i, g in enumerate(grids) if i])
    full = F.interpolate(half[None], scale_factor=2, mode="bilinear", align_corners=False)[0, :, :h, :w]
    return torch.cat([grids[0][None], full * 16])


def _tile(values: list, shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """values[PHASES.index((r % 2, c % 2))] at each (r, c) of a (h, w) map."""
    by = torch.tensor([[values[PHASES.index((a, b))] for b in (0, 1)] for a in (0, 1)], dtype=dtype)
    return by.repeat(-(-shape[0] // 2), -(-shape[1] // 2))[:shape[0], :shape[1]]


def contexts(grid: torch.Tensor, parent: torch.Tensor | None, scheme: Scheme) -> torch.Tensor:
    """grid (h, w), parent (ceil(h/2), ceil(w/2)) or None -> (scheme.size, h, w) (the contexts of `layout`), in
    grid's dtype."""
    (h, w), r = grid.shape, scheme.reach
    p = F.pad(grid, (r, r, r, r))
    same = [p[r + a:r + a + h, r + b:r + b + w] * _tile([scheme.seen(ph, (a, b)) for ph in PHASES], (h, w), grid.dtype)
            for a, b in scheme.offsets]
    coarse = [c.repeat_interleave(2, 0).repeat_interleave(2, 1)[:h, :w]
              for c in parent_maps(grid, parent, -(-h // 2), -(-w // 2))]
    flags = [_tile([float(j == k) for j in scheme.passes], (h, w), grid.dtype)
             for k in range(1, max(scheme.passes) + 1)]
    return torch.stack(same + coarse + flags)
