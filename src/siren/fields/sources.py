"""Sources: points (x0, y0) in [-1, 1]^2 and the two Gaussians placed at them.

`gaussian_source` is the Helmholtz right side f (variance sigma2, mass `amplitude`); `gaussian_pulse` the wave
equation's initial displacement u0 (peak 1, standard deviation sigma).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import SirenError

SIGMA2 = 1e-4            # variance of the Helmholtz source (std 0.01), as in the paper


def check_source(source) -> tuple[float, float]:
    """Source point (x0, y0) as floats; it must lie in [-1, 1]^2."""
    try:
        x0, y0 = (float(v) for v in source)
    except (TypeError, ValueError) as e:
        raise SirenError(f"source {source!r} must be a point (x0, y0)") from e
    if not (np.isfinite(x0) and np.isfinite(y0) and max(abs(x0), abs(y0)) <= 1):
        raise SirenError(f"source ({x0}, {y0}) is outside [-1, 1]^2: move it inside")
    return x0, y0


def parse_point(text: str, flag: str = "--source") -> tuple[float, float]:
    """A command-line point 'X,Y' -> (x, y) floats (`check_source` then checks where it lies)."""
    try:
        x, y = (float(v) for v in str(text).split(","))
    except ValueError:
        raise SirenError(f"{flag} {text!r} must be two numbers X,Y (e.g. {flag} 0.2,-0.1)") from None
    return x, y


def gaussian_source(X: np.ndarray, Y: np.ndarray, source=(0.0, 0.0), sigma2: float = SIGMA2,
                    amplitude: complex = 1.0) -> np.ndarray:
    """f = amplitude / (2 pi sigma2) exp(-((X - x0)^2 + (Y - y0)^2) / (2 sigma2)); integral over R^2 = amplitude."""
    x0, y0 = source
    return amplitude / (2 * np.pi * sigma2) * np.exp(-((X - x0) ** 2 + (Y - y0) ** 2) / (2 * sigma2))


def gaussian_pulse(source, sigma: float) -> Callable:
    """u0(xy) = exp(-|xy - x0|^2 / (2 sigma^2)) for points xy (..., 2), torch or numpy -> (..., 1)."""
    def u0(xy):
        d2 = (xy[..., 0] - source[0]) ** 2 + (xy[..., 1] - source[1]) ** 2
        out = (torch.exp if isinstance(xy, torch.Tensor) else np.exp)(-d2 / (2 * sigma**2))
        return out[..., None]
    return u0
