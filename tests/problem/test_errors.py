"""Bad input: one line naming the constraint (or the file), before any training."""
import numpy as np
import pytest
import torch

from siren.errors import SirenError
from siren.problem import Dirichlet, Field, Interval, Observation, Parameter, Problem, Rectangle, Residual
from siren.tasks.solve import SolveTask, load_problem_file

pytestmark = pytest.mark.usefixtures("one_thread")


def _compile(**constraints):
    problem = Problem(Rectangle([0, 0], [1, 1]), outputs="u", constraints=constraints)
    problem.compile()
    return problem


@pytest.mark.parametrize("fn, words", [
    (lambda v: v.q, "constraint 'pde' reads 'q', which is no output, input or unknown"),
    (lambda v: v.d("u", "z"), "constraint 'pde' differentiates by 'z', which is no input"),
    (lambda v: v.d("w", "x"), "constraint 'pde' takes a derivative of 'w'"),
    (lambda v: v.u[:3], r"constraint 'pde' returns \(3,\), not a tensor of shape \(N,\) or \(N, k\)"),
    (lambda v: 1.0, "constraint 'pde' returns float"),
    (lambda v: v.u.sum(), r"constraint 'pde' returns \(\)"),
    (lambda v: v.normal, "constraint 'pde' reads normals on points that have none"),
])
def test_a_residual_that_reads_or_returns_the_wrong_thing(fn, words):
    with pytest.raises(SirenError, match=words) as e:
        _compile(pde=Residual(fn))
    assert "\n" not in str(e.value)


def test_nan_names_the_constraint():
    from siren.models import build_model
    problem = _compile(pde=Residual(lambda v: torch.log(v.u - 1e9)))
    with pytest.raises(SirenError, match="constraint 'pde' gives NaN"):
        problem.terms({"solution": build_model("siren", 2, 1, hidden_features=8, hidden_layers=1)},
                      torch.Generator().manual_seed(0), check=True)


def test_observations_with_nan_and_unused_unknowns():
    pts = np.array([[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(SirenError, match="observations contain NaN"):
        Observation(pts, np.array([1.0, np.nan]))
    with pytest.raises(SirenError, match="2 points but values of shape"):
        Observation(pts, np.ones(3))
    for unknown in (Parameter(1.0), Field(("x",), hidden_features=8, hidden_layers=1)):
        problem = Problem(Interval(0, 1), unknowns={"k": unknown},
                          constraints={"pde": Residual(lambda v: v.d("u", "x")), "bc": Dirichlet("u", 0.0)})
        with pytest.raises(SirenError, match="unknown 'k' is read by no constraint"):
            problem.compile()


def test_problem_file_without_problem(tmp_path, cli_error):
    path = tmp_path / "p.py"
    path.write_text("x = 1\n")
    with pytest.raises(SirenError, match="defines no `problem`"):
        load_problem_file(path)
    assert "defines no `problem`" in cli_error(["solve", str(path), "--out", str(tmp_path / "o")])
    path.write_text("from siren.problem import *\nproblem = Problem(Interval(0, 0), constraints={})\n")
    assert "zero measure" in cli_error(["solve", str(path), "--out", str(tmp_path / "o")])
    path.write_text("problem = undefined_name\n")
    assert "failed: NameError" in cli_error(["solve", str(path), "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_names_must_be_distinct_and_usable():
    with pytest.raises(SirenError, match="name 'x' is not usable"):
        Problem(Interval(0, 1), outputs="x", constraints={"pde": Residual(lambda v: v.x)})
    with pytest.raises(SirenError, match="no boundary part 'roof'"):
        _compile(pde=Residual(lambda v: v.u), bc=Dirichlet("u", 0.0, on="roof"))
    assert SolveTask.name == "solve"
