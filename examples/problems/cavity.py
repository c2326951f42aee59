"""The lid-driven cavity at Re = 100: steady incompressible Navier-Stokes for (u, v, p) on [0, 1]^2, u = 1, v = 0
on the lid (y = 1), no slip on the other walls.  Run: siren solve examples/problems/cavity.py"""
import torch

from siren.problem import Dirichlet, Problem, Rectangle, Residual

Re = 100.0


def navier_stokes(f):
    def momentum(w, p):
        return f.u * f.d(w, "x") + f.v * f.d(w, "y") + f.d("p", p) - f.laplacian(w) / Re
    return torch.stack([momentum("u", "x"), momentum("v", "y"), f.div(("u", "v"))], -1)


walls = lambda x: x[:, 1] < 1  # noqa: E731  (the three walls other than the lid)
problem = Problem(Rectangle([0, 0], [1, 1]), outputs=("u", "v", "p"), hints={"first_omega_0": 10.0}, constraints={
    "ns": Residual(navier_stokes, points=3000),
    "lid_u": Dirichlet("u", 1.0, on="top", points=500, weight=10),
    "lid_v": Dirichlet("v", 0.0, on="top", points=500, weight=10),
    "wall_u": Dirichlet("u", 0.0, on=walls, points=1000, weight=10),
    "wall_v": Dirichlet("v", 0.0, on=walls, points=1000, weight=10),
})

# --- the independent reference (not part of the problem): Ghia, Ghia and Shin (1982), centre-line velocities
from siren.solvers.cavity import ghia_reference  # noqa: E402

reference = ghia_reference()
