"""An inverse problem: lam u_xx - k(x) u = f on [0, 1], lam = 0.01, u(0) = u(1) = 0, f = sin(2 pi x); k(x) is
unknown (a second network: a tanh MLP, whose bias to smooth functions suits an ill-posed coefficient better than a
sine network's) and is recovered from 50 measurements of u with 1% noise.
Run: siren solve examples/problems/inverse_k.py"""
import math

import numpy as np
import torch

from siren.problem import Dirichlet, Field, Interval, Observation, Problem, Residual


def k_true(x):
    return 0.1 + np.exp(-0.5 * (x[:, 0] - 0.5) ** 2 / 0.15 ** 2)


# --- the measurements come from an independent solver (finite differences), with 1% noise
from siren.solvers.bvp import reaction_diffusion_fd  # noqa: E402

u_true = reaction_diffusion_fd(0.01, lambda x: k_true(x[:, None]), lambda x: np.sin(2 * np.pi * x))
sensors = np.linspace(0, 1, 50)[:, None]
data = u_true(sensors[:, 0]) + 0.01 * np.abs(u_true(sensors[:, 0])).max() * np.random.default_rng(0).standard_normal(50)

problem = Problem(Interval(0, 1), outputs="u", hints={"first_omega_0": 3.0},
                  unknowns={"k": Field("x", model="tanh", truth=k_true)}, constraints={
    "pde": Residual(lambda v: 0.01 * v.d("u", "x", "x") - v.k * v.u - torch.sin(2 * math.pi * v.x), points=500),
    "ends": Dirichlet("u", 0.0, points=20),
    "data": Observation(sensors, data, "u", noise=0.01 * np.abs(data).max())})


def reference(x):
    return u_true(x[:, 0])
