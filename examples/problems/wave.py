"""The wave equation: u_tt = c^2 u_xx on x in [0, 1], t in [0, 1], c = 1, u = 0 at x = 0 and 1,
u(x, 0) = sin(pi x) + 0.5 sin(3 pi x), u_t(x, 0) = 0. Its frequencies (up to 3 pi over the box) want a first
omega_0 of 10, not an image's 30.  Run: siren solve examples/problems/wave.py"""
import math

import torch

from siren.problem import Dirichlet, Initial, Interval, Problem, Residual, TimeInterval

c = 1.0


def u0(p):
    return torch.sin(math.pi * p.x) + 0.5 * torch.sin(3 * math.pi * p.x)


problem = Problem(Interval(0, 1) * TimeInterval(0, 1), outputs="u", hints={"first_omega_0": 10.0}, constraints={
    "pde": Residual(lambda v: v.d("u", "t", "t") - c ** 2 * v.d("u", "x", "x"), points=2000),
    "value": Initial("u", u0, points=500, weight=10),
    "velocity": Initial("u", 0.0, order=1, points=500, weight=10),
    "ends": Dirichlet("u", 0.0, points=500, weight=10),
})


# --- the independent reference (not part of the problem): d'Alembert's closed form
import numpy as np  # noqa: E402


def reference(x):
    s, t = x[:, 0], x[:, 1]
    return np.sin(np.pi * s) * np.cos(np.pi * c * t) + 0.5 * np.sin(3 * np.pi * s) * np.cos(3 * np.pi * c * t)
