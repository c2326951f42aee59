"""siren.tasks.fwi: a few steps lower the data term, the run writes the documented files, the reference code's
.mat data run, and bad input gives one-line errors (exit code 2)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import io

from siren.cli import main
from siren.models import build_model
from siren.tasks.fwi import FWIConfig, FWITask
from siren.train import TrainConfig, fit

MAT = Path(__file__).parents[1] / "data" / "siren_fwi" / "data_cylinder_5.mat"
TINY = ["--k", "6", "--n", "33", "--batch", "64", "--pool", "256", "--baseline-n", "33", "--baseline-iters", "2",
        "--hidden-features", "32", "--hidden-layers", "2", "--no-progress"]


def test_a_few_steps_lower_the_data_term(one_thread):
    task = FWITask.from_config(FWIConfig(k=6, n=33, sources=2, receivers=6, batch=64, pool=256))
    assert task.out_features == 5
    model = build_model("siren", 2, task.out_features, hidden_features=32, hidden_layers=2)
    gen = torch.Generator().manual_seed(0)
    first = float(task.loss(model, 0, gen)["data"][0].detach())
    fit(model, task, TrainConfig(steps=40, lr=1e-3, log_every=40, progress=False))
    assert float(task.loss(model, 40, gen)["data"][0].detach()) < 0.5 * first


def test_the_run_writes_velocity_and_wavefields(tmp_path, one_thread):
    out = tmp_path / "run"
    assert main(["fwi", *TINY, "--sources", "2", "--receivers", "5", "--steps", "3", "--out", str(out)]) == 0
    v, f = np.load(out / "velocity.npz"), np.load(out / "wavefield.npz")
    assert v["c_true"].shape == v["c_siren"].shape == v["c_baseline"].shape == (33, 33)
    assert f["u"].shape == f["u_solver"].shape == (2, 33, 33) and np.iscomplexobj(f["u"])
    assert f["m"].shape == (33, 33) and f["source"].shape == (2, 2) and float(f["k"]) == 6
    assert np.allclose(f["x"], np.linspace(-1, 1, 33))
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    inner = np.abs(v["x"]) <= 0.5
    mse = np.mean((v["c_siren"] - v["c_true"])[np.ix_(inner, inner)] ** 2)
    assert metrics["velocity_mse_siren"] == pytest.approx(mse)
    err, ref = (f["u"] - f["u_solver"])[:, inner][:, :, inner], f["u_solver"][:, inner][:, :, inner]
    assert metrics["wavefield_rel_l2"] == pytest.approx(np.linalg.norm(err) / np.linalg.norm(ref))
    assert {"velocity_mse_baseline", "data_misfit_siren", "data_misfit_baseline"} <= set(metrics)
    assert all((out / name).is_file() for name in ("velocity.png", "data.png", "error.png"))


def test_the_reference_receiver_data_run(tmp_path, one_thread):
    out = tmp_path / "run"
    assert main(["fwi", *TINY, "--data", str(MAT), "--steps", "3", "--out", str(out)]) == 0
    v, f = np.load(out / "velocity.npz"), np.load(out / "wavefield.npz")
    assert np.isnan(v["c_true"]).all() and v["c_siren"].shape == (33, 33)
    assert f["u"].shape == (5, 33, 33)
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert "velocity_mse_siren" not in metrics and metrics["data_misfit_siren"] > 0


def test_bad_inputs_are_one_line_errors(tmp_path, cli_error):
    o = ["--out", str(tmp_path / "o")]
    assert "--k" in cli_error(["fwi", "--k", "0", *o])
    assert "--sources" in cli_error(["fwi", "--sources", "0", *o])
    assert "--receivers" in cli_error(["fwi", "--receivers", "0", *o])
    mat = io.loadmat(MAT)
    io.savemat(tmp_path / "far.mat", {"source": mat["source"] + [0, -0.5], "receivers": mat["receivers"],
                                      "rec_val": mat["rec_val"]})
    assert "non-PML" in cli_error(["fwi", "--data", str(tmp_path / "far.mat"), *o])
    io.savemat(tmp_path / "empty.mat", {"other": np.ones(3)})
    assert "rec_val" in cli_error(["fwi", "--data", str(tmp_path / "empty.mat"), *o])
    assert "not found" in cli_error(["fwi", "--data", str(tmp_path / "missing.mat"), *o])
