"""The perfectly matched layer (PML) of the Helmholtz solver and tasks: one definition for both.

A band of width L = PML_WIDTH along the border of [-1, 1]^2; d(t) = max(|t| - (1 - L), 0) is the depth into it
along one axis (0 inside the non-PML square [-(1 - L), 1 - L]^2). The stretch along that axis is

    e(t) = 1 - i a0 (d / L)^2        (a0 = A0; independent of k, e = 1 - i s/k with s = k a0 (d/L)^2),

absorbing outgoing waves for the time dependence e^{+i w t} (see `siren.solvers.helmholtz`). The equation with
the PML reads L u = d/dx(e_y/e_x u_x) + d/dy(e_x/e_y u_y) + e_x e_y m k^2 u = e_x e_y f.
"""
from __future__ import annotations

import numpy as np
import torch

PML_WIDTH, A0 = 0.5, 5.0


def _depth(t, width: float):
    """d = max(|t| - (1 - L), 0) and the array library of t (numpy or torch)."""
    lib = torch if isinstance(t, torch.Tensor) else np
    return lib.clip(lib.abs(t) - (1 - width), 0, None), lib


def pml_stretch(t, width: float = PML_WIDTH, a0: float = A0):
    """e(t) = 1 - i a0 (d/L)^2 and d(1/e)/dt = -e'(t) / e^2, e'(t) = -2 i a0 d sign(t) / L^2, for real t (a numpy
    array, or a tensor) -> two complex arrays of t's shape (tensors for a tensor, differentiable)."""
    t = t if isinstance(t, torch.Tensor) else np.asarray(t, float)
    d, lib = _depth(t, width)
    e = 1 - 1j * a0 * (d / width) ** 2
    de = -1j * a0 * 2 * d / width ** 2 * lib.sign(t)
    return e, -de / e ** 2


def stretched_coordinate(t: np.ndarray, width: float = PML_WIDTH, a0: float = A0) -> np.ndarray:
    """The complex coordinate t~ = int_0^t e = t - i sign(t) a0 d^3 / (3 L^2), so that d/dt~ = (1/e) d/dt."""
    d, _ = _depth(np.asarray(t, float), width)
    return t - 1j * np.sign(t) * a0 * d ** 3 / (3 * width ** 2)


def pml_operator(u, ux, uy, uxx, uyy, x, y, m, k: float):
    """L u (module docstring) at points (x, y), expanded: (e_y/e_x) u_xx + e_y (1/e_x)' u_x + (e_x/e_y) u_yy
    + e_x (1/e_y)' u_y + e_x e_y m k^2 u, for complex u and its derivatives, x, y, m of one shape (or broadcast)."""
    ex, dinv_x = pml_stretch(x)
    ey, dinv_y = pml_stretch(y)
    return ey / ex * uxx + ey * dinv_x * ux + ex / ey * uyy + ex * dinv_y * uy + ex * ey * m * k ** 2 * u
