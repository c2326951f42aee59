"""torchrun with 2 processes equals 1 process for a problem (gloo on CPU): each process trains on its block of every
constraint's points, the gradients averaged; also with unknowns (a scalar and a field) and gradient-norm weights."""
import json
import os
import subprocess
import sys

import pytest
import torch

from siren.cli import main
from siren.run_folder import load_checkpoint

PROBLEM = ("import torch\nfrom siren.problem import Problem, Rectangle, Residual, Dirichlet, Neumann\n"
           "problem = Problem(Rectangle([0, 0], [2, 1]), constraints={\n"
           "    'pde': Residual(lambda v: v.laplacian('u') + 1, points=63),\n"
           "    'walls': Dirichlet('u', 0.0, on=['left', 'right', 'bottom'], points=20),\n"
           "    'top': Neumann('u', 0.0, on='top', points=9)})\n"
           "reference = lambda x: 0.5 * x[:, 0] * (2 - x[:, 0])\n")
INVERSE = ("import numpy as np, torch\n"
           "from siren.problem import Problem, Interval, Residual, Dirichlet, Observation, Parameter, Field\n"
           "x = np.linspace(0.1, 0.9, 7)[:, None]\n"
           "problem = Problem(Interval(0, 1), balance='gradnorm', balance_every=1, unknowns={\n"
           "    'c': Parameter(2.0), 'k': Field('x', hidden_features=8, hidden_layers=1)}, constraints={\n"
           "    'pde': Residual(lambda v: v.c * v.d('u', 'x', 'x') + v.k * v.u + 1, points=31),\n"
           "    'ends': Dirichlet('u', 0.0, points=4),\n"
           "    'data': Observation(x, 0.5 * x * (1 - x), 'u')})\n"
           "reference = lambda x: 0.5 * x[:, 0] * (1 - x[:, 0])\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gloo over loopback")
@pytest.mark.parametrize("text", [PROBLEM, INVERSE], ids=["plate", "unknowns and gradnorm"])
def test_two_processes_equal_one(tmp_path, text):
    path = tmp_path / "plate.py"
    path.write_text(text)
    common = ["solve", str(path), "--hidden-features", "16", "--hidden-layers", "1", "--steps", "3", "--log-every",
              "3", "--no-progress", "--no-report", "--device", "cpu", "--seed", "5"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
              "siren.cli", *common, "--out", str(tmp_path / "two")]
    proc = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    one, two = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-4, atol=1e-5)
    for key, value in one["task_state"]["parameters"].items():
        torch.testing.assert_close(two["task_state"]["parameters"][key], value, rtol=1e-4, atol=1e-6)
    for key, value in one["task_state"]["fields"].get("k", {}).items():
        torch.testing.assert_close(two["task_state"]["fields"]["k"][key], value, rtol=1e-4, atol=1e-5)
    m1, m2 = (json.loads((tmp_path / r / "metrics.jsonl").read_text().splitlines()[-1]) for r in ("one", "two"))
    assert m2["rel_l2"] == pytest.approx(m1["rel_l2"], rel=1e-4)          # the logged loss is rank 0's share
    assert m2["weights"] == pytest.approx(m1["weights"], rel=1e-4)
