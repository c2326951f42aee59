"""Speed models c over [-1, 1]^2: checks, the paper's presets, .npy files, command-line values, and `Speed`.

c is in units of the domain per unit time, within [C_MIN, C_MAX]; the squared slowness is m = 1/c^2. A file holds
a gridded c (`siren.fields.grid`: axis 0 = x, a grid with endpoints), read bilinearly.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from .grid import bilinear, lookup, mesh, resample

C_MIN, C_MAX = 0.1, 10.0
PRESETS = ("uniform", "square", "circle")


def check_speed(c: np.ndarray, name: str = "speed c") -> np.ndarray:
    """c must be finite and within [C_MIN, C_MAX]; returns c."""
    if not np.all(np.isfinite(c)):
        raise SirenError(f"{name} has non-finite values: fix the model so it is finite everywhere")
    if c.min() < C_MIN or c.max() > C_MAX:
        raise SirenError(f"{name} must be within [{C_MIN}, {C_MAX}], got range [{c.min():.4g}, {c.max():.4g}]: "
                         f"rescale the model")
    return c


def velocity_preset(name: str, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Speed c on the points (X, Y), as in the paper's reference code (dataio.py):

    uniform: c = 1.   square: c = 2 (m = 1/4) where |x| < 0.3 and |y| < 0.3, else 1.
    circle: c = 2 where x^2 + y^2 < 0.1^2, else 1.
    Both inclusions are centred at the origin, so the models are mirror-symmetric in x -> -x (and y -> -y).
    """
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    if name == "uniform":
        inside = np.zeros(X.shape, bool)
    elif name == "square":
        inside = (np.abs(X) < 0.3) & (np.abs(Y) < 0.3)
    elif name == "circle":
        inside = X**2 + Y**2 < 0.1**2
    else:
        raise SirenError(f"unknown velocity preset {name!r}: choose one of {', '.join(PRESETS)}")
    return np.where(inside, 2.0, 1.0)


def read_velocity(path: str | Path) -> np.ndarray:
    """The gridded speed c (a, b) in a .npy file, checked: a real 2-D array of at least 2 x 2, finite, within
    [C_MIN, C_MAX]. Raises SirenError on a bad file."""
    try:
        c = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise SirenError(f"cannot read velocity file {path}: save c with numpy.save as a 2-D float array "
                         f"({type(e).__name__})") from e
    if not isinstance(c, np.ndarray):
        raise SirenError(f"velocity file {path} is not a single array (.npz?): save c with numpy.save")
    if c.ndim != 2 or min(c.shape) < 2 or not np.issubdtype(c.dtype, np.number) or np.iscomplexobj(c):
        raise SirenError(f"velocity file {path} holds a {c.dtype} array of shape {c.shape}: it must be a real "
                         f"2-D array of at least 2 x 2")
    return check_speed(c.astype(float), f"speed c in {path}")


def load_velocity(path: str | Path, n: int) -> np.ndarray:
    """Speed c (n, n) from a .npy file (`read_velocity`), read bilinearly on the n x n grid."""
    return resample(read_velocity(path), n)


def speed_model(spec: str, n: int) -> np.ndarray:
    """--velocity: a preset name (`velocity_preset`) or a .npy file (`load_velocity`) -> c (n, n) on the grid."""
    if spec in PRESETS:
        _, X, Y = mesh(n)
        return velocity_preset(spec, X, Y)
    if Path(spec).suffix == ".npy":
        if not Path(spec).is_file():
            raise SirenError(f"velocity file not found: {spec}")
        return load_velocity(spec, n)
    raise SirenError(f"takes {', '.join(PRESETS)} or a .npy file, got {spec!r}", field="velocity")


def parse_speed(text: str) -> float | np.ndarray:
    """--speed: a number (constant c) or the path of a .npy file of c (`read_velocity`, kept on its own grid)."""
    try:
        value = float(text)
    except ValueError:
        path = Path(text)
        if not path.is_file():
            raise SirenError(f"{text!r} is neither a number nor an existing .npy file (pass e.g. --speed 1 "
                             f"or --speed c.npy)", field="speed") from None
        return read_velocity(path)                              # checked: 2-D, finite, c in [0.1, 10]
    if not math.isfinite(value):
        raise SirenError(f"{text!r} must be a finite number or a .npy file", field="speed")
    return value


class Speed:
    """c over [-1, 1]^2: a constant, or a gridded c (a, b) read bilinearly (an array of one value is a constant).

    constant: c or None; array: the gridded c or None; min, max: its range.
    """

    def __init__(self, value: float | np.ndarray):
        if np.ndim(value) == 0:
            self.constant, self.array = float(check_speed(np.array([float(value)]), "speed c")[0]), None
        else:
            array = np.asarray(value, float)
            if array.ndim != 2 or min(array.shape) < 2:
                raise SirenError(f"speed array has shape {array.shape}: it must be 2-D with at least 2 x 2 points")
            self.array, self.constant = check_speed(array), None
            if np.ptp(array) == 0:
                self.constant, self.array = float(array.flat[0]), None
        self.max = self.constant if self.array is None else float(self.array.max())
        self.min = self.constant if self.array is None else float(self.array.min())
        self._table = None if self.array is None else torch.from_numpy(self.array).float()

    def on_mesh(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """c at the points (X, Y) (arrays of one shape) -> float64 array of that shape."""
        return np.full(X.shape, self.constant) if self.array is None else bilinear(self.array, X, Y)

    def at(self, xy: torch.Tensor) -> torch.Tensor:
        """xy (N, 2) in [-1, 1]^2 -> c (N, 1) (torch, in xy's dtype and on its device)."""
        if self.array is None:
            return torch.full_like(xy[:, :1], self.constant)
        return lookup(self._table, xy)[:, None]
