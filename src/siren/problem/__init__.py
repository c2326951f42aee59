"""Your own problem: the paper's formulation (find Phi with C_m(a(x), Phi, grad Phi, ...) = 0 on Omega_m) as data.

    from siren.problem import Problem, Interval, TimeInterval, Residual, Initial, Dirichlet
    problem = Problem(Interval(-1, 1) * TimeInterval(0, 1), outputs="u", constraints={...})
    solution = siren.solve(problem, steps=2000, out="runs/burgers")
    solution(points)                      # (N, d) NumPy in the user's units -> (N, C)

Modules: `geometry` (domains, set operations), `time` (space-time), `sampling` (where and how points are drawn),
`view` (what a residual reads), `constraints`, `adaptive` (residual-based sampling), `causal` (causal weights in
time), `unknowns`, `transform` (hard constraints), `problem` (the Problem and its dry run), `live` (one step's
derivatives), `solution` (`solve`, `Solution`, `load_solution`), `figures`. `siren solve problem.py` is the task `siren.tasks.solve`.
"""
from .adaptive import Adaptive
from .causal import Causal
from .constraints import Dirichlet, Initial, Neumann, Observation, Periodic, Residual, Robin
from .geometry import Ball, Box, Disk, Domain, Interval, Polygon, Rectangle
from .problem import Problem
from .sampling import Points
from .time import SpaceTime, TimeInterval
from .transform import Hard
from .unknowns import Field, Parameter

__all__ = ["Problem", "Domain", "Interval", "Rectangle", "Box", "Disk", "Ball", "Polygon", "TimeInterval",
           "SpaceTime", "Points", "Residual", "Dirichlet", "Neumann", "Robin", "Periodic", "Initial", "Observation",
           "Hard", "Parameter", "Field", "Adaptive", "Causal", "solve", "Solution", "load_solution"]


def __getattr__(name):
    if name in ("solve", "Solution", "load_solution"):
        from . import solution
        return getattr(solution, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
