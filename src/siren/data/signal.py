"""Signal: a sampled function on a regular grid, the unit that flows from `data` into `tasks`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .grid import grid


def fit_bytes(shape, channels: int) -> int:
    """About the peak bytes of fitting a signal on the grid `shape` with `channels` channels: its samples while
    loading (float64), values and coordinates (float32), the batch indices, and the final evaluation with gradient
    and Laplacian (checked against a measured run in docs/scale.md)."""
    d = len(shape)
    return math.prod(shape) * (16 * (d + 2) + 40 * channels * (d + 1))


def render_bytes(shape, channels: int) -> int:
    """About the peak bytes of rendering a network on the grid `shape` (`siren.rendering.render`): the coordinates
    (float32, and their meshgrid), the output (float32, twice while concatenated) and its 8-bit copy."""
    return math.prod(shape) * (8 * len(shape) + 9 * channels)


@dataclass
class Signal:
    """values: (*shape, C) in [-1, 1] on a regular grid over [-1, 1]^d (d = len(shape)).

    kind: "image" | "audio" | "video"; meta: what is needed to write the signal back out (e.g. sample rate,
    amplitude scale, source path).
    """
    values: torch.Tensor
    kind: str
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[:-1])

    @property
    def channels(self) -> int:
        return self.values.shape[-1]

    @property
    def dim(self) -> int:
        return len(self.shape)

    def coords(self) -> torch.Tensor:
        """(prod shape, d) grid coordinates matching `flat_values`."""
        return grid(self.shape, device=self.values.device, dtype=self.values.dtype)

    def flat_values(self) -> torch.Tensor:
        """(prod shape, C)."""
        return self.values.reshape(-1, self.channels)
