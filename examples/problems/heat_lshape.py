"""Heat on an L-shaped plate: u_t = 0.25 (u_xx + u_yy) + 1 on [-1, 1]^2 minus [0, 1]^2, t in [0, 0.5], u = 0 on the
boundary and at t = 0 (u = t N: the initial condition holds exactly).  Run: siren solve examples/problems/heat_lshape.py"""
from siren.problem import Dirichlet, Hard, Problem, Rectangle, Residual, TimeInterval

plate = Rectangle([-1, -1], [1, 1]) - Rectangle([0, 0], [1, 1])


def heat(v):
    return v.d("u", "t") - 0.25 * v.laplacian("u", ("x", "y")) - 1.0


problem = Problem(plate * TimeInterval(0, 0.5), outputs="u", hints={"first_omega_0": 10.0}, constraints={
    "pde": Residual(heat, points=3000),
    "walls": Dirichlet("u", 0.0, points=1000, weight=10),
}, hard={"u": Hard(0.0, lambda p: p.t)})

# --- the independent reference (not part of the problem): finite differences, exact in time
from siren.solvers.heat import heat_fd  # noqa: E402

reference = heat_fd(lambda x, y: (abs(x) < 1) & (abs(y) < 1) & ~((x >= 0) & (y >= 0)), n=129)
