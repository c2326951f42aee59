"""Where a constraint holds and how its points are drawn.

    on       "interior" (default for residuals) | "boundary" | "initial" (t = t0 of a space-time domain) |
             a part name or a list of them ("outer", "outer.top", "top": a primitive, a primitive's side, or a
             side of any primitive) | a predicate f(x (N, d) tensor) -> (N,) bool on boundary points | Points
    sampler  "random" (fresh points every step, from the run's seeded generator) | "sobol" | "halton" (scipy's
             scrambled quasi-random sequences, drawn once) | "grid" (a regular grid over the box, kept inside the
             domain, drawn once). Boundary points of "sobol" / "halton" / "grid" are random points drawn once.

`Points(array or path)`: the user's own points (N, d) (.npy, or .csv / .txt with one point a line), optionally with
normals (N, d) and per-point data {name: (N, ...)} (read in a residual as `v.data[name]`); used in full every step,
or `batch=` of them drawn at random (with replacement) each step.

A callable sampler `sampler(n, generator, step) -> x (n, d)` or a dict {"x": x, "normal": (n, d), name: (n, ...)}
draws the points itself (importance sampling, curricula in time): x in the user's units, from the given generator.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from .geometry import DTYPE

__all__ = ["Points", "SAMPLERS", "draw", "read_points", "call_sampler"]

SAMPLERS = ("random", "sobol", "halton", "grid")


def read_points(source, what: str = "points") -> np.ndarray:
    """An array, or a .npy / .csv / .txt file of one point a line -> float64 (N, d)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise SirenError(f"{what}: no file {path} (give an array or a .npy / .csv file)")
        arr = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter="," if path.suffix == ".csv"
                                                                      else None, ndmin=2)
    else:
        arr = np.asarray(source.detach().cpu() if isinstance(source, torch.Tensor) else source)
    arr = np.asarray(arr, float)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


class Points:
    """The user's points (N, d): an array or a file (see the module docstring); normals (N, d) optional."""

    def __init__(self, source, normals=None, data: dict | None = None, batch: int | None = None):
        self.x = read_points(source)
        self.normals = None if normals is None else read_points(normals, "normals")
        if not np.isfinite(self.x).all():
            raise SirenError("points (or observations) contain NaN or infinity (drop those rows)")
        self.data = {k: torch.as_tensor(v) for k, v in (data or {}).items()}
        if any(len(v) != len(self.x) for v in self.data.values()):
            raise SirenError(f"point data {sorted(self.data)} must have one row per point ({len(self.x)})")
        if batch is not None and not (isinstance(batch, int) and batch > 0):
            raise SirenError(f"a batch of points must be a positive integer, got {batch!r}")
        self.batch = batch

    def draw(self, gen: torch.Generator | None):
        """(x (N, d) float64, normals or None, data {name: (N, ...)}): all points, or `batch` drawn at random."""
        x, normals = torch.as_tensor(self.x, dtype=DTYPE), self.normals
        normals = None if normals is None else torch.as_tensor(normals, dtype=DTYPE)
        if self.batch is None:
            return x, normals, dict(self.data)
        idx = torch.randint(len(x), (self.batch,), generator=gen)
        return x[idx], None if normals is None else normals[idx], {k: v[idx] for k, v in self.data.items()}


def _quasi(method: str, n: int, dim: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc
    engine = qmc.Sobol(dim, seed=seed) if method == "sobol" else qmc.Halton(dim, seed=seed)
    return engine.random(n)


def _fixed(domain, n: int, method: str, seed: int, initial: bool) -> torch.Tensor:
    """n quasi-random or grid points inside the domain (or its initial slice), fixed."""
    dim = domain.dim - 1 if initial else domain.dim
    lo, hi = (domain.lo[:-1], domain.hi[:-1]) if initial else (domain.lo, domain.hi)
    region = domain.space if initial else domain
    for scale in (2, 4, 16, 64, 256):
        m = n * scale
        if method == "grid":
            k = max(2, int(round(m ** (1 / dim))))
            axes = [np.linspace(0, 1, k)] * dim
            u = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
        else:
            u = _quasi(method, int(2 ** np.ceil(np.log2(m))) if method == "sobol" else m, dim, seed)
        x = torch.as_tensor(lo + (hi - lo) * u, dtype=DTYPE)
        x = x[region.contains(x)]
        if method == "grid" and len(x) >= n:
            idx = np.unique(np.linspace(0, len(x) - 1, n).round().astype(int))
            x = x[torch.as_tensor(idx)]
            break
        if len(x) >= n:
            x = x[:n]
            break
    if initial:
        x = torch.cat([x, torch.full((len(x), 1), domain.time.t0, dtype=DTYPE)], 1)
    return x


def _matches(parts: list[str], on) -> np.ndarray:
    """Which part labels `on` names: "prim.side", "prim" or "side"."""
    names = [on] if isinstance(on, str) else list(on)
    hit = np.zeros(len(parts), bool)
    for name in names:
        found = [i for i, p in enumerate(parts) if name in (p, *p.split("."))]
        if not found:
            raise SirenError(f"no boundary part {name!r} (parts: {', '.join(parts)})")
        hit[found] = True
    return hit


def draw(domain, on, n: int, gen: torch.Generator | None):
    """n points where `on` says -> (x (N, d) float64, normals (N, d) or None, data {name: (N, ...)})."""
    if on in (None, "interior"):
        return domain.interior(n, gen), None, {}
    if on == "initial":
        if not hasattr(domain, "initial"):
            raise SirenError("'initial' needs a space-time domain (space * TimeInterval(t0, t1))")
        return domain.initial(n, gen), None, {}
    if isinstance(on, Points):
        return on.draw(gen)
    keep = None if on == "boundary" or callable(on) else torch.as_tensor(_matches(domain.parts, on))
    xs, ns, have = [], [], 0
    for _ in range(200):
        x, normal, part = domain.boundary(max(n, 64), gen)
        mask = torch.ones(len(x), dtype=torch.bool) if keep is None else keep[part]
        if callable(on):
            mask = mask & torch.as_tensor(on(x), dtype=torch.bool)
        xs.append(x[mask])
        ns.append(normal[mask])
        have += int(mask.sum())
        if have >= n:
            return torch.cat(xs)[:n], torch.cat(ns)[:n], {}
    raise SirenError(f"the boundary part {on!r} is (almost) empty (check its name or predicate)")


def fixed(domain, on, n: int, method: str, seed: int):
    """Points drawn once by a quasi-random or grid `method` (see the module docstring)."""
    if method not in SAMPLERS:
        raise SirenError(f"unknown sampler {method!r} (choose {', '.join(SAMPLERS)})")
    if on in (None, "interior", "initial") and not isinstance(on, Points):
        return _fixed(domain, n, method, seed, on == "initial"), None, {}
    return draw(domain, on, n, torch.Generator().manual_seed(seed))


def call_sampler(sampler, n: int, gen: torch.Generator | None, step: int, name: str):
    """A callable sampler's points (see the module docstring) -> (x (N, d) float64, normals or None, data)."""
    out = sampler(n, gen, step)
    out = dict(out) if isinstance(out, dict) else {"x": out}
    if "x" not in out:
        raise SirenError(f"constraint {name!r}: its sampler returns a dict without 'x' (the points)")
    x, normal = torch.as_tensor(out.pop("x")).to(DTYPE), out.pop("normal", None)
    if x.dim() != 2:
        raise SirenError(f"constraint {name!r}: its sampler returns points of shape {tuple(x.shape)}, not (N, d)")
    return x, None if normal is None else torch.as_tensor(normal).to(DTYPE), {k: torch.as_tensor(v)
                                                                             for k, v in out.items()}
