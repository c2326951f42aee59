"""Poisson on a square with a hole: -(u_xx + u_yy) = 1 on [-1, 1]^2 minus the disk of radius 0.3 at the origin,
u = 0 on the square (exactly: u = (1 - x^2)(1 - y^2) N), du/dn = 0 on the circle.
Run: siren solve examples/problems/poisson_hole.py"""
from siren.problem import Disk, Hard, Neumann, Problem, Rectangle, Residual

plate = Rectangle([-1, -1], [1, 1], name="square") - Disk([0, 0], 0.3, name="hole")


def poisson(v):
    return v.laplacian("u") + 1.0


problem = Problem(plate, outputs="u", constraints={
    "pde": Residual(poisson, points=2000),
    "hole": Neumann("u", 0.0, on="hole", points=500),
}, hard={"u": Hard(0.0, lambda p: (1 - p.x ** 2) * (1 - p.y ** 2))})

# --- the independent reference (not part of the problem): quadratic finite elements (scikit-fem)
try:
    from siren.solvers.poisson_fem import poisson_hole_fem
    reference = poisson_hole_fem(r=0.3)
except ImportError:                  # scikit-fem (the `test` extra) is not installed: no scoring
    reference = None
