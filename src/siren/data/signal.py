"""Signal: a sampled function on a regular grid, the unit that flows from `data` into `tasks`."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .grid import grid


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
