"""Viscous Burgers: u_t + u u_x = (0.01 / pi) u_xx on x in [-1, 1], t in [0, 1], u(x, 0) = -sin(pi x),
u(+-1, t) = 0.  Run: siren solve examples/problems/burgers.py --out runs/burgers"""
import math

import torch

from siren.problem import Dirichlet, Initial, Interval, Problem, Residual, TimeInterval

nu = 0.01 / math.pi


def burgers(v):
    return v.d("u", "t") + v.u * v.d("u", "x") - nu * v.d("u", "x", "x")


problem = Problem(Interval(-1, 1) * TimeInterval(0, 1), outputs="u", constraints={
    "pde": Residual(burgers, points=4000),
    "initial": Initial("u", lambda p: -torch.sin(math.pi * p.x), points=1000, weight=10),
    "walls": Dirichlet("u", 0.0, points=500, weight=10),
})

# --- the independent reference (not part of the problem): Cole-Hopf by Gauss-Hermite quadrature
from siren.solvers.burgers import burgers_cole_hopf  # noqa: E402


def reference(x):
    return burgers_cole_hopf(x[:, 0], x[:, 1], nu)
