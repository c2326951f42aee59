"""A family defined here alone (no file under src/ knows it): one Activation, registered, trained through the CLI's
entry point on the forward-mode path, with its derivatives equal to autograd in float64."""
from __future__ import annotations

import json
import math

import pytest
import torch

import siren.diff
from siren.cli import main
from siren.diff import Request, autograd_derivatives, derivatives, supports_forward
from siren.models import COORDINATES, Activation, build_model, register_family
from siren.models.activations import siren_uniform_


class Sinc(Activation):
    """sin(omega_0 z) / (omega_0 z) through torch.sinc: its derivatives come from nested forward-mode autodiff of
    `fn` (no Taylor rule given); SIREN's init scaled by omega_0."""

    def __init__(self, omega_0: float = 10.0):
        super().__init__()
        self.omega_0 = float(omega_0)

    def fn(self, z):
        return torch.sinc(self.omega_0 * z / math.pi)

    def init_(self, linear, first):
        siren_uniform_(linear.weight, first, self.omega_0)


@pytest.fixture
def sinc_family():
    register_family("sinc", Sinc)
    yield "sinc"
    COORDINATES.pop("sinc")


def test_a_registered_activation_trains_through_the_cli_on_the_forward_path(sinc_family, tmp_path, monkeypatch):
    def no_autograd(*args, **kwargs):
        raise AssertionError("the forward-mode path was not taken")
    monkeypatch.setattr(siren.diff, "autograd_derivatives", no_autograd)
    common = ["--model", "sinc", "--hidden-features", "16", "--hidden-layers", "1", "--first-omega-0", "5",
              "--size", "16", "--steps", "3", "--no-progress", "--no-report"]
    assert main(["fit", "image", "--demo", "cameraman", *common, "--out", str(tmp_path / "fit")]) == 0
    assert main(["poisson", "--demo", "cameraman", "--supervise", "laplacian", *common,
                 "--out", str(tmp_path / "poisson")]) == 0
    config = json.loads((tmp_path / "poisson" / "config.json").read_text())
    assert config["model"]["name"] == "sinc" and config["model"]["options"]["first_omega_0"] == 5.0
    metrics = json.loads((tmp_path / "poisson" / "metrics.json").read_text())["metrics"]
    assert math.isfinite(metrics["psnr_lap"])


def test_a_registered_activation_has_exact_forward_mode_derivatives(sinc_family):
    torch.manual_seed(0)
    model = build_model("sinc", 3, 2, hidden_features=16, hidden_layers=2, first_omega_0=4.0).double()
    assert supports_forward(model)
    x = torch.rand(50, 3, dtype=torch.float64) * 2 - 1
    request = Request(gradient=True, hessian=True)
    got, ref = derivatives(model, x, request, mode="forward"), autograd_derivatives(model, x, request)
    for a, b in ((got.value, ref.value), (got.gradient, ref.gradient), (got.hessian, ref.hessian)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    loss = got.laplacian().pow(2).sum() + got.gradient.pow(2).sum() + got.value.sum()   # through the rules
    grads = torch.autograd.grad(loss, list(model.parameters()))
    ref_loss = ref.laplacian().pow(2).sum() + ref.gradient.pow(2).sum() + ref.value.sum()
    for a, b in zip(grads, torch.autograd.grad(ref_loss, list(model.parameters()))):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)
