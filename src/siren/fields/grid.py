"""The grid linspace(-1, 1, n)^2, fields on it read bilinearly at points, and a network evaluated on it.

A gridded field is an (a, b) array of values on linspace(-1, 1, a) x linspace(-1, 1, b), indexed [ix, iy].
`bilinear` reads one at NumPy points, `lookup` at torch points; both interpolate bilinearly between the four
nodes around a point and agree to rounding.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.interpolate import RegularGridInterpolator

from ..diff import inference
from ..errors import SirenError

MIN_POINTS = 8
# a model on the grid: a scalar, an (n, n) array, or a callable f(X, Y) evaluated on the meshgrid
FieldLike = float | np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray]
CHUNK = 65_536           # points per network evaluation in `network_on_grid`


def axis(n: int) -> np.ndarray:
    """linspace(-1, 1, n), made exactly antisymmetric (x[i] == -x[n-1-i]) so mirror-symmetric models stay so."""
    if int(n) != n or n < MIN_POINTS:
        raise SirenError(f"grid size n={n} is too small: use an integer n >= {MIN_POINTS}")
    x = np.linspace(-1.0, 1.0, int(n))
    return 0.5 * (x - x[::-1])


def mesh(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, X, Y): the axis (n,) and its 'ij' meshgrid, both (n, n)."""
    x = axis(n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    return x, X, Y


def on_grid(value, X: np.ndarray, Y: np.ndarray, name: str) -> np.ndarray:
    """A scalar, an array of X's shape, or a callable f(X, Y) -> float array of X's shape (finite)."""
    out = value(X, Y) if callable(value) else value
    out = np.broadcast_to(np.asarray(out, dtype=float), X.shape) if np.ndim(out) == 0 else np.asarray(out, float)
    if out.shape != X.shape:
        raise SirenError(f"{name} has shape {out.shape}, expected {X.shape}: give a scalar, an array on the "
                         f"grid, or a callable f(X, Y)")
    if not np.all(np.isfinite(out)):
        raise SirenError(f"{name} has non-finite values: fix the model so it is finite everywhere")
    return out


def bilinear(values: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """A gridded field values (a, b) read at the points (X, Y) (arrays of one shape, clipped into [-1, 1]^2)
    -> float array of X's shape."""
    interp = RegularGridInterpolator((np.linspace(-1, 1, values.shape[0]), np.linspace(-1, 1, values.shape[1])),
                                     values)
    return interp(np.stack([np.clip(X, -1, 1), np.clip(Y, -1, 1)], axis=-1))


def resample(values: np.ndarray, n: int) -> np.ndarray:
    """A gridded field values (a, b) read bilinearly on the n x n grid -> (n, n)."""
    _, X, Y = mesh(n)
    return bilinear(values, X, Y)


def lookup(table: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """A gridded field table (a, b) (a tensor) read bilinearly at the points xy (N, 2) in [-1, 1]^2 -> (N,), in
    xy's dtype and on its device (torch grid_sample with align_corners, so the corner nodes sit at +-1)."""
    grid = xy[:, [1, 0]].reshape(1, 1, -1, 2)                  # grid_sample wants (w, h) = (y, x) for table[ix, iy]
    field = table.to(device=xy.device, dtype=xy.dtype)[None, None]
    return torch.nn.functional.grid_sample(field, grid, mode="bilinear", align_corners=True).reshape(-1)


def network_on_grid(model, points: np.ndarray):
    """The network on the grid points x `points` (P,), axis 0 = x -> X, Y (P, P) arrays, xy (P^2, 2) and the
    outputs (P^2, C), both float64 CPU tensors (graph-free, CHUNK points at a time)."""
    X, Y = np.meshgrid(points, points, indexing="ij")
    xy = torch.from_numpy(np.stack([X.ravel(), Y.ravel()], -1))
    p = next(model.parameters())
    out = torch.cat([inference(model, c.to(p)).double().cpu() for c in xy.split(CHUNK)])
    return X, Y, xy, out
