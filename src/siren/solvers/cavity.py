"""The lid-driven cavity at Re = 100 on [0, 1]^2 (lid u = 1 on y = 1): the centre-line velocities of Ghia, Ghia
and Shin (1982), J. Comput. Phys. 48, 387-411, Tables I and II (a 129 x 129 multigrid solution)."""
from __future__ import annotations

import numpy as np

__all__ = ["GHIA_U", "GHIA_V", "ghia_reference"]

# u(x = 0.5, y): rows (y, u)
GHIA_U = np.array([
    [1.0000, 1.00000], [0.9766, 0.84123], [0.9688, 0.78871], [0.9609, 0.73722], [0.9531, 0.68717],
    [0.8516, 0.23151], [0.7344, 0.00332], [0.6172, -0.13641], [0.5000, -0.20581], [0.4531, -0.21090],
    [0.2813, -0.15662], [0.1719, -0.10150], [0.1016, -0.06434], [0.0703, -0.04775], [0.0625, -0.04192],
    [0.0547, -0.03717], [0.0000, 0.00000]])
# v(x, y = 0.5): rows (x, v)
GHIA_V = np.array([
    [1.0000, 0.00000], [0.9688, -0.05906], [0.9609, -0.07391], [0.9531, -0.08864], [0.9453, -0.10313],
    [0.9063, -0.16914], [0.8594, -0.22445], [0.8047, -0.24533], [0.5000, 0.05454], [0.2344, 0.17527],
    [0.2266, 0.17507], [0.1563, 0.16077], [0.0938, 0.12317], [0.0781, 0.10890], [0.0703, 0.10091],
    [0.0625, 0.09233], [0.0000, 0.00000]])


def ghia_reference() -> dict:
    """{"u": (points (17, 2), values (17,)), "v": (...)}: the tables as (x, y) points, for `siren solve`'s
    reference."""
    u_pts = np.stack([np.full(len(GHIA_U), 0.5), GHIA_U[:, 0]], -1)
    v_pts = np.stack([GHIA_V[:, 0], np.full(len(GHIA_V), 0.5)], -1)
    return {"u": (u_pts, GHIA_U[:, 1]), "v": (v_pts, GHIA_V[:, 1])}
