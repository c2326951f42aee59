"""Training a problem: siren.solve and `siren solve` against closed forms, the run folder, --resume, siren.load,
unknowns, balancing."""
import json
import math

import numpy as np
import pytest
import torch

import siren
from siren.cli import main
from siren.problem import Dirichlet, Interval, Observation, Parameter, Periodic, Problem, Residual

TINY = {"hidden_features": 16, "hidden_layers": 2, "first_omega_0": 3.0}
pytestmark = pytest.mark.usefixtures("one_thread")
BAR = "import torch\nfrom siren.problem import Problem, Interval, Residual, Dirichlet, Hard\n"
PROBLEM = BAR + ("problem = Problem(Interval(0, 2), constraints={'pde': Residual(lambda v: v.d('u', 'x', 'x') + 1, "
                 "points=64)}, hard={'u': Hard(0.0, lambda p: p.x * (2 - p.x))})\n"
                 "reference = lambda x: 0.5 * x[:, 0] * (2 - x[:, 0])\n")


def _bar(tmp_path):
    """u'' = -1 on [0, 2], u(0) = u(2) = 0 (hard): u = x (2 - x) / 2."""
    path = tmp_path / "bar.py"
    path.write_text(PROBLEM)
    return path


def test_solve_a_bar_in_the_users_units(tmp_path):
    problem = Problem(Interval(0, 2), outputs="u", constraints={
        "pde": Residual(lambda v: v.d("u", "x", "x") + 1, points=64), "ends": Dirichlet("u", 0.0, points=8)})
    exact = lambda x: 0.5 * x[:, 0] * (2 - x[:, 0])  # noqa: E731
    sol = siren.solve(problem, steps=300, lr=1e-3, out=tmp_path / "run", reference=exact, progress=False,
                      report=False, **TINY)
    assert sol.metrics["rel_l2"] < 0.05
    x = np.linspace(0, 2, 9)[:, None]
    d = sol.derivatives(x, order=2)
    assert np.allclose(d["value"][:, 0], sol(x)[:, 0])
    assert np.abs(d["gradient"][:, 0, 0] - (1 - x[:, 0])).max() < 0.15          # u' = 1 - x in x's units
    assert np.abs(d["hessian"][:, 0, 0, 0] + 1).max() < 0.5
    again = siren.load(tmp_path / "run")
    assert np.allclose(again(x), sol(x)) and again.inputs == ("x",)


def test_cli_run_resume_and_load_with_a_hard_constraint(tmp_path):
    path = _bar(tmp_path)
    args = ["solve", str(path), "--hidden-features", "16", "--hidden-layers", "2", "--first-omega-0", "3",
            "--lr", "1e-3", "--schedule", "constant", "--no-progress",
            "--checkpoint-every", "20", "--log-every", "20"]
    assert main([*args, "--steps", "60", "--out", str(tmp_path / "whole")]) == 0
    assert main([*args, "--steps", "40", "--out", str(tmp_path / "part")]) == 0
    assert main([*args, "--steps", "60", "--out", str(tmp_path / "part"), "--resume"]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())["metrics"]
    part = json.loads((tmp_path / "part" / "metrics.json").read_text())["metrics"]
    assert whole["rel_l2"] == part["rel_l2"]
    for name in ("solution.png", "solution.npz", "problem.json", "problem.py", "error.png"):
        assert (tmp_path / "whole" / name).is_file()
    path.unlink()                                                   # load works from the run folder alone
    sol = siren.load(tmp_path / "whole")
    x = np.array([[0.0], [2.0], [0.7]])
    assert np.abs(sol(x)[:2]).max() < 1e-6                          # the hard constraint holds exactly


def test_a_scalar_unknown_is_learned_and_reported(tmp_path):
    """u'' + c u = 0 on [0, 1] with u = sin(pi x) observed: c = pi^2."""
    xs = np.linspace(0, 1, 21)[:, None]
    problem = Problem(Interval(0, 1), outputs="u", unknowns={"c": Parameter(5.0, truth=math.pi ** 2, lr=0.1)}, constraints={
        "pde": Residual(lambda v: v.d("u", "x", "x") + v.c * v.u, points=64),
        "data": Observation(xs, np.sin(np.pi * xs), "u", noise=1e-3, weight=100)})
    sol = siren.solve(problem, steps=400, lr=3e-3, out=tmp_path / "inv", progress=False, report=False, **TINY)
    assert sol.metrics["error_c"] < 0.03 and abs(sol.unknowns["c"] - math.pi ** 2) < 0.3
    assert "chi2_data" in sol.metrics and "value_c" in sol.metrics


def test_gradnorm_weights_move_and_periodic_matches_the_ends(tmp_path):
    problem = Problem(Interval(0, 1), outputs="u", balance="gradnorm", balance_every=5, constraints={
        "pde": Residual(lambda v: v.d("u", "x", "x") + 4 * math.pi ** 2 * torch.sin(2 * math.pi * v.x), points=64),
        "anchor": Dirichlet("u", 0.0, on="left", points=4),
        "period": Periodic("u", "x", points=4)})
    sol = siren.solve(problem, steps=30, lr=1e-3, out=tmp_path / "gn", progress=False, report=False, **TINY)
    weights = sol.history[-1]["weights"]
    assert len(set(weights.values())) > 1 and all(math.isfinite(w) and w > 0 for w in weights.values())
    sets = problem.point_sets("period", torch.Generator().manual_seed(0))
    assert sets[0][0][:, 0].eq(0).all() and sets[1][0][:, 0].eq(1).all()


@pytest.mark.parametrize("sampler", ["sobol", "grid"])
def test_fixed_samplers_train(tmp_path, sampler):
    problem = Problem(Interval(0, 1), constraints={"pde": Residual(lambda v: v.d("u", "x") - 1, points=32,
                                                                   sampler=sampler),
                                                   "ends": Dirichlet("u", 0.0, on="left", points=1)})
    sol = siren.solve(problem, steps=20, out=tmp_path / sampler, progress=False, report=False, **TINY)
    assert math.isfinite(sol.history[-1]["loss"])


def test_adam_then_lbfgs_resumes_exactly(tmp_path):
    from siren.models import build_model
    from siren.tasks.solve import SolveTask, load_problem_file
    from siren.train import TrainConfig, fit

    def train(out, stop=None):
        problem, reference = load_problem_file(_bar(tmp_path))
        task = SolveTask(problem, reference, lbfgs=20)
        torch.manual_seed(0)
        model = build_model("siren", 1, 1, **TINY)
        cfg = TrainConfig(steps=40, lr=1e-3, log_every=10, checkpoint_every=10, progress=False)

        def interrupt(step, record):
            if step == stop:
                raise KeyboardInterrupt
        result = fit(model, task, cfg, out, callback=interrupt)
        if stop is not None:
            result = fit(model, task, cfg, out, resume=True)
        return result.history

    whole, resumed = train(tmp_path / "whole"), train(tmp_path / "part", stop=30)
    assert [h["loss"] for h in whole] == [h["loss"] for h in resumed]
    assert whole[-1]["rel_l2"] < 0.5 * whole[1]["rel_l2"]                      # the L-BFGS steps (20 to 40) help
