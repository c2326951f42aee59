"""Context masks of images: which pixels a prior sees (`siren prior train`, its scores, `siren prior inpaint`).

Masks are (H, W) or (B, H, W) bool tensors on the CPU, True where a pixel is context.
"""
from __future__ import annotations

import torch

from ..errors import SirenError

__all__ = ["EVAL_SEED", "context_masks", "fixed_masks", "half_mask", "parse_context", "context_mask"]

EVAL_SEED = 0


def context_masks(batch: int, shape: tuple[int, int], low: int, high: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random context: for each image, k ~ U{low, ..., high} distinct pixels -> mask (batch, H, W) bool (CPU)."""
    n = shape[0] * shape[1]
    k = torch.randint(low, high + 1, (batch, 1), generator=generator)
    ranks = torch.rand(batch, n, generator=generator).argsort(1).argsort(1)        # a random permutation each
    return (ranks < k).reshape(batch, *shape)


def fixed_masks(count: int, shape: tuple[int, int], k: int, seed: int = EVAL_SEED) -> torch.Tensor:
    """`count` masks of exactly k random pixels each, the same for every call with this seed and k (CPU)."""
    gen = torch.Generator().manual_seed(seed * 100_003 + k)
    return context_masks(count, shape, k, k, gen)


def half_mask(shape: tuple[int, int]) -> torch.Tensor:
    """The top half of the image (rows < H / 2) as context -> (H, W) bool."""
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[: shape[0] // 2] = True
    return mask


def parse_context(spec: str | int) -> int | str:
    """"half" or a whole number of context pixels (>= 0)."""
    if isinstance(spec, int) or str(spec).strip().isdigit():
        return int(spec)
    if str(spec).strip().lower() == "half":
        return "half"
    raise SirenError(f"must be a number of pixels or 'half', got {spec!r}", field="context")


def context_mask(context: int | str, size: int, seed: int) -> torch.Tensor:
    """The (size, size) mask of `context`: "half" (the top half) or that many pixels drawn with `seed`."""
    context = parse_context(context)
    if context == "half":
        return half_mask((size, size))
    if context > size * size:
        raise SirenError(f"{context} is larger than the image: the prior works on {size}x{size} = "
                         f"{size * size} pixels (pass at most {size * size}, or half)", field="context")
    return fixed_masks(1, (size, size), context, seed)[0]
