"""Grid, speed-model and loader helpers shared by the Helmholtz and wave solvers.

Grid: `linspace(-1, 1, n)` per axis, endpoints included, arrays indexed [ix, iy] (axis 0 = x, axis 1 = y).
Speeds c are in units of the domain per unit time (the domain is [-1, 1]^2); the squared slowness is m = 1/c^2.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from siren.errors import SirenError

C_MIN, C_MAX = 0.1, 10.0
MIN_POINTS = 8
PRESETS = ("uniform", "square", "circle")
# a model on the grid: a scalar, an (n, n) array, or a callable f(X, Y) evaluated on the meshgrid
FieldLike = float | np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray]


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


def check_speed(c: np.ndarray, name: str = "speed c") -> np.ndarray:
    """c must be finite and within [C_MIN, C_MAX]."""
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


def bilinear(c: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """c, given on linspace(-1, 1, a) x linspace(-1, 1, b), read bilinearly at the points (X, Y) (arrays of one
    shape, clipped into [-1, 1]^2) -> float array of X's shape."""
    interp = RegularGridInterpolator((np.linspace(-1, 1, c.shape[0]), np.linspace(-1, 1, c.shape[1])), c)
    return interp(np.stack([np.clip(X, -1, 1), np.clip(Y, -1, 1)], axis=-1))


def resample(c: np.ndarray, n: int) -> np.ndarray:
    """Bilinear interpolation of c, given on linspace(-1, 1, a) x linspace(-1, 1, b), to the n x n grid."""
    _, X, Y = mesh(n)
    return bilinear(c, X, Y)


def read_velocity(path: str | Path) -> np.ndarray:
    """The 2-D array of speed c over [-1, 1]^2 in a .npy file (axis 0 = x, grid with endpoints), checked: a real
    2-D array of at least 2 x 2, finite, within [C_MIN, C_MAX]. Raises SirenError on a bad file."""
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
    """Speed c (n, n) from a .npy file (`read_velocity`), bilinearly interpolated to linspace(-1, 1, n) per axis."""
    return resample(read_velocity(path), n)


def speed_model(spec: str, n: int) -> np.ndarray:
    """A command-line speed model on linspace(-1, 1, n)^2 -> c (n, n): a preset name (`velocity_preset`) or a
    .npy file (`load_velocity`)."""
    if spec in PRESETS:
        _, X, Y = mesh(n)
        return velocity_preset(spec, X, Y)
    if Path(spec).suffix == ".npy":
        if not Path(spec).is_file():
            raise SirenError(f"velocity file not found: {spec}")
        return load_velocity(spec, n)
    raise SirenError(f"--velocity takes {', '.join(PRESETS)} or a .npy file, got {spec!r}")
