"""Heat equation u_t = a Lap u + s on a grid-aligned 2-D domain (e.g. an L-shape), u = 0 on its boundary and at
t = 0: the 5-point Laplacian on linspace(-1, 1, n) per axis, exact in time (the semi-discrete system solved by a
matrix exponential, `scipy.sparse.linalg.expm_multiply`), interpolated (t, x, y) linearly. Second order in space
away from a re-entrant corner."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import RegularGridInterpolator
from scipy.sparse.linalg import expm_multiply

__all__ = ["heat_fd"]


def heat_fd(inside, a: float = 0.25, source: float = 1.0, t1: float = 0.5, n: int = 129, times: int = 101):
    """inside(X, Y) -> bool mask of the open domain on the grid; returns u(points (N, 3) as (x, y, t)) -> (N,)."""
    g = np.linspace(-1, 1, n)
    h = g[1] - g[0]
    X, Y = np.meshgrid(g, g, indexing="ij")
    mask = inside(X, Y)
    mask[[0, -1], :] = mask[:, [0, -1]] = False
    idx = -np.ones(mask.shape, int)
    idx[mask] = np.arange(mask.sum())
    rows, cols, vals = [], [], []
    for i, j in zip(*np.nonzero(mask)):
        k = idx[i, j]
        rows.append(k), cols.append(k), vals.append(-4 / h ** 2)
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            m = idx[i + di, j + dj]
            if m >= 0:
                rows.append(k), cols.append(m), vals.append(1 / h ** 2)
    m = int(mask.sum())
    A = sp.csr_matrix((vals, (rows, cols)), (m, m)) * a
    big = sp.bmat([[A, sp.csr_matrix(np.full((m, 1), source))], [None, sp.csr_matrix((1, 1))]]).tocsr()
    start = np.zeros(m + 1)
    start[-1] = 1.0
    path = expm_multiply(big, start, start=0, stop=t1, num=times, endpoint=True)[:, :m]
    grid = np.zeros((times, n, n))
    grid[:, mask] = path
    interp = RegularGridInterpolator((np.linspace(0, t1, times), g, g), grid)
    return lambda p: interp(np.stack([np.asarray(p)[:, 2], np.asarray(p)[:, 0], np.asarray(p)[:, 1]], -1))
