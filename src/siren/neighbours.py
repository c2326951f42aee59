"""Nearest neighbours among 3-D points: one KD-tree per point set, built once, queried on every core.

    index = PointIndex(points)              # (M, 3); scipy's cKDTree, sliding-midpoint build
    dist, idx = index.query(queries)        # (N,), (N,) for (N, 3) queries; workers = all cores

The Chamfer distance, normal consistency and F-score of a mesh (`siren.metrics`) and the dropping of mesh pieces far
from the data (`siren.mesh.keep_supported`) each need the same two lookups; an index made once serves them all.
"""
from __future__ import annotations

import numpy as np

from .errors import SirenError

__all__ = ["PointIndex", "xyz"]


class PointIndex:
    """A KD-tree over points (M, 3) (float64 copy kept as `.points`)."""

    def __init__(self, points):
        from scipy.spatial import cKDTree
        self.points = xyz(points)
        self.tree = cKDTree(self.points, balanced_tree=False)

    def __len__(self) -> int:
        return len(self.points)

    def query(self, queries, upper_bound: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """For each of queries (N, 3): (distance to, index of) its nearest indexed point; inf and len(self) where
        none lies within upper_bound."""
        return self.tree.query(xyz(queries), distance_upper_bound=upper_bound, workers=-1)


def xyz(a) -> np.ndarray:
    """A non-empty (N, 3) point array (array or tensor), float64."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3 or len(a) == 0:
        raise SirenError(f"expected a non-empty (N, 3) point array, got shape {a.shape}")
    return a
