"""A function of 3-D points (an SDF model) evaluated on points of a cubic grid, in chunks, checked and counted."""
from __future__ import annotations

import math

import numpy as np

from ..errors import SirenError


class Grid:
    """fn on the grid lo + i h (i = 0..n-1 per axis, h = (hi - lo) / (n - 1)): float32 values, counted.

    fn takes a float32 torch tensor (M, 3) on `device` (default: the device of fn's parameters when fn is a torch
    module, else CPU) and returns (M,) or (M, 1) values; it is called under torch.no_grad on at most `chunk` points
    at a time. `evaluations` counts the points evaluated, `vmin`/`vmax` the range of the values seen."""

    def __init__(self, fn, n: int, bounds, chunk: int, device=None):
        import torch
        if device is None:
            params = next(fn.parameters(), None) if isinstance(fn, torch.nn.Module) else None
            device = params.device if params is not None else "cpu"
        self.fn, self.n, self.chunk, self.device = fn, n, chunk, torch.device(device)
        self.lo, self.h = float(bounds[0]), (float(bounds[1]) - float(bounds[0])) / (n - 1)
        self.evaluations, self.vmin, self.vmax = 0, math.inf, -math.inf

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """(M, 3) float32 points (anywhere, not only on the grid) -> (M,) float32 values of fn, `chunk` points per
        call. Raises SirenError on a wrong output shape or on NaN/infinite values."""
        import torch
        out = np.empty(len(points), np.float32)
        with torch.no_grad():
            for s in range(0, len(points), self.chunk):
                x = torch.from_numpy(np.ascontiguousarray(points[s:s + self.chunk])).to(self.device)
                y = torch.as_tensor(self.fn(x))
                if y.numel() != len(x):
                    raise SirenError(f"the SDF function returned shape {tuple(y.shape)} for {len(x)} points; "
                                     f"expected ({len(x)},) or ({len(x)}, 1)")
                out[s:s + len(x)] = y.reshape(-1).float().cpu().numpy()
        if not np.isfinite(out).all():
            raise SirenError(f"the SDF is NaN or infinite at {(~np.isfinite(out)).sum()} of {len(out)} grid points "
                             f"(check the model)")
        self.evaluations += len(out)
        if len(out):
            self.vmin, self.vmax = min(self.vmin, float(out.min())), max(self.vmax, float(out.max()))
        return out

    def at(self, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Values at integer grid indices (equal-length 1-D arrays)."""
        points = (self.lo + np.stack([i, j, k], axis=1) * self.h).astype(np.float32)
        return self.evaluate(points)

    def box(self, e0: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        """Values on the index lattice e0 x e1 x e2 -> (len(e0), len(e1), len(e2)), `chunk` points at a time."""
        shape = (len(e0), len(e1), len(e2))
        out = np.empty(math.prod(shape), np.float32)
        for s in range(0, len(out), self.chunk):
            i, j, k = np.unravel_index(np.arange(s, min(s + self.chunk, len(out))), shape)
            out[s:s + len(i)] = self.at(e0[i], e1[j], e2[k])
        return out.reshape(shape)
