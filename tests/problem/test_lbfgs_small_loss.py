"""The L-BFGS phase keeps working on a problem whose loss is small: torch's absolute stopping tolerances (gradient
1e-7, loss change 1e-9) would freeze it at its first step."""
import math

import pytest
import torch

from siren.models import build_model
from siren.problem import Dirichlet, Interval, Problem, Residual
from siren.tasks.solve import SolveTask
from siren.train import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")


def test_lbfgs_moves_a_small_loss(tmp_path):
    scale = 1e-4                                       # the same problem, its loss 1e-8 times smaller
    problem = Problem(Interval(0, 1), constraints={
        "pde": Residual(lambda v: scale * (v.d("u", "x", "x") + math.pi ** 2 * torch.sin(math.pi * v.x)), points=32,
                        sampler="grid"),
        "ends": Dirichlet("u", 0.0, points=2, sampler="grid")})
    task = SolveTask(problem, lbfgs=15)
    torch.manual_seed(0)
    model = build_model("siren", 1, 1, hidden_features=16, hidden_layers=1, first_omega_0=3.0)
    result = fit(model, task, TrainConfig(steps=30, lr=1e-3, log_every=1, progress=False), tmp_path / "run")
    losses = [r["loss"] for r in result.history]
    assert losses[-1] < 0.5 * losses[14]               # the 15 L-BFGS steps reduce it further
    assert len(set(losses[15:])) > 5                    # and keep moving
