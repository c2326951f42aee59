"""Analytic shapes for demos and tests: exact signed distances (negative inside) and exact surface samples.

A shape is called on (N, 3) points, numpy or torch (the arithmetic is shared), and returns (N,) distances of the
same kind. `sample_surface` gives points uniform by area with unit outward normals, float64 numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sphere:
    """Sphere of `radius` centered at 0: sdf(p) = |p| - radius."""
    radius: float = 0.5

    def __call__(self, p):
        return (p[..., 0] ** 2 + p[..., 1] ** 2 + p[..., 2] ** 2) ** 0.5 - self.radius

    def _surface(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        normals = rng.standard_normal((n, 3))
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        return self.radius * normals, normals


@dataclass(frozen=True)
class Torus:
    """Torus around the z axis, tube of radius r centered on the circle of radius R in the xy plane:
    sdf(p) = sqrt((sqrt(x^2 + y^2) - R)^2 + z^2) - r (exact for R > r)."""
    R: float = 0.5
    r: float = 0.2

    def __call__(self, p):
        ring = (p[..., 0] ** 2 + p[..., 1] ** 2) ** 0.5 - self.R
        return (ring ** 2 + p[..., 2] ** 2) ** 0.5 - self.r

    def _surface(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        # p(u, v) = ((R + r cos v) cos u, (R + r cos v) sin u, r sin v); area element r (R + r cos v) du dv:
        # u uniform, v by rejection with acceptance (R + r cos v) / (R + r).
        v = np.empty(0)
        while len(v) < n:
            cand = rng.uniform(0, 2 * np.pi, 2 * n)
            accept = rng.uniform(0, 1, 2 * n) < (self.R + self.r * np.cos(cand)) / (self.R + self.r)
            v = np.concatenate([v, cand[accept]])
        u, v = rng.uniform(0, 2 * np.pi, n), v[:n]
        normals = np.stack([np.cos(v) * np.cos(u), np.cos(v) * np.sin(u), np.sin(v)], axis=1)
        ring = np.stack([np.cos(u), np.sin(u), np.zeros(n)], axis=1) * self.R
        return ring + self.r * normals, normals


def sample_surface(shape: Sphere | Torus, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform by area on the exact surface -> (points (n, 3), unit outward normals (n, 3)), float64."""
    return shape._surface(n, np.random.default_rng(seed))
