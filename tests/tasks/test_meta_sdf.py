"""`siren meta sdf` (a shape prior: a modulated SDF base, the latent fitted per shape by meta-SGD on the Eikonal loss,
second order), its demo shapes (`siren.data.shapeset`), `siren sdf SCAN --init RUN`, and one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from siren.cli import main
from siren.data.image import save_image
from siren.data.shapeset import demo_shapes, folder_shapes
from siren.errors import SirenError
from siren.launch import run
from siren.models import build_model
from siren.run_folder import load_checkpoint
from siren.tasks.meta_sdf import adapt_shapes, shape_losses
from siren.tasks.sdf import SDFConfig, SDFTask
from siren.train import TrainConfig

L = 4
TINY = ["--demo", "--shapes", "10", "--points", "64", "--batch", "16", "--batch-size", "2", "--inner-steps", "2",
        "--latent-features", str(L), "--resolution", "8", "--hidden-features", "8", "--hidden-layers", "1",
        "--log-every", "2", "--no-progress", "--no-report", "--device", "cpu"]
QUIET = ["--no-progress", "--no-report", "--device", "cpu"]


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("metasdf") / "run"
    assert main(["meta", "sdf", *TINY, "--steps", "3", "--out", str(out)]) == 0
    return out


def test_demo_shapes_lie_on_their_surface_with_outward_normals():
    """Unions included: the samples are on the union's boundary (|sdf| ~ 0, none inside another part) and the
    normals are the SDF's gradient there."""
    shapes = demo_shapes(12)
    assert len({s.name for s in shapes}) == 12 and any("+" in s.name for s in shapes)
    assert {k for s in shapes for k in s.name.split("_")[1].split("+")} == {"torus", "capsule", "box"}
    for shape in shapes[:6]:
        p, n = shape.sample(500, seed=0)
        assert np.abs(shape.sdf(p)).max() < 0.02
        h = 1e-4
        slope = (shape.sdf(p + h * n) - shape.sdf(p - h * n)) / (2 * h)
        assert np.median(slope) > 0.99


def test_outer_gradient_goes_through_the_eikonal_inner_steps(one_thread):
    """d/d(theta, rates) of the mean SDF loss after K latent steps (input gradients inside the inner loss) equals a
    central finite difference in float64."""
    torch.manual_seed(0)
    model = build_model("siren", 3, 1, hidden_features=6, hidden_layers=1, latent_features=3,
                        first_omega_0=5.0).double()
    with torch.no_grad():
        model.modulation.weight.mul_(3.0)
    x = torch.rand(2, 10, 3, dtype=torch.float64) * 2 - 1
    normals = torch.nn.functional.normalize(torch.randn(2, 5, 3, dtype=torch.float64), dim=-1)
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    rates = torch.full((3,), 1e-4, dtype=torch.float64)

    def outer(p, r):
        class Bound(torch.nn.Module):
            latent_features = 3

            def forward(self, c, z=None):
                return functional_call(model, p, (c, z))
        net = Bound()
        z = adapt_shapes(net, r, x, 5, normals, 2, second_order=True)[-1]
        return sum(w * t.mean() for t, w in shape_losses(net, z, x, 5, normals, True).values())

    p = {k: v.clone().requires_grad_() for k, v in params.items()}
    r = rates.clone().requires_grad_()
    grads = torch.autograd.grad(outer(p, r), [*p.values(), r])
    v = {k: torch.randn_like(t) for k, t in params.items()}
    vr = torch.randn_like(rates) * 1e-4
    h = 1e-7
    plus = outer({k: params[k] + h * v[k] for k in params}, rates + h * vr)       # (input gradients need autograd)
    minus = outer({k: params[k] - h * v[k] for k in params}, rates - h * vr)
    auto = float(sum((g * d).sum() for g, d in zip(grads, [*v.values(), vr])))
    assert auto == pytest.approx(float((plus - minus).detach() / (2 * h)), rel=1e-4)


def test_meta_sdf_run_and_a_scan_fitted_from_the_prior(prior_run, tmp_path):
    """The run keeps the learned rates as the test time, writes the held-out shapes; `siren sdf SCAN --init RUN`
    trains only the latent of the base (its weights and rates unchanged, the latent moved)."""
    base = load_checkpoint(prior_run)
    tt = base["task"]["test_time"]
    assert tt["optimizer"] == "sgd" and tt["steps"] == 2 and len(tt["rates"]) == L and tt["batch"] == 16
    assert base["task"]["data"]["test"] == 1
    scans = sorted((prior_run / "heldout").glob("*.npy"))
    assert [s.name for s in scans] == ["009_" + demo_shapes(10)[9].name.split("_", 1)[1] + ".npy"]
    assert np.load(scans[0]).shape == (64, 6)
    assert main(["sdf", str(scans[0]), "--init", str(prior_run), "--steps", "2", "--batch", "16", "--resolution", "8",
                 *QUIET, "--out", str(tmp_path / "fit")]) == 0
    ckpt = load_checkpoint(tmp_path / "fit")
    assert ckpt["spec"]["kind"] == "latent"
    for key, value in base["model"].items():
        torch.testing.assert_close(ckpt["model"][key], value, rtol=0, atol=0)
    torch.testing.assert_close(ckpt["model"]["rates"], torch.tensor(tt["rates"]))
    assert ckpt["model"]["latent"].abs().sum() > 0


def test_meta_sdf_bad_input_is_one_line_error(prior_run, tmp_path, cli_error):
    (tmp_path / "empty").mkdir()
    assert "no shapes in" in cli_error(["meta", "sdf", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i in range(2):
        np.save(mixed / f"s{i}.npy", np.load(next((prior_run / "heldout").glob("*.npy"))))
    (mixed / "notes.png").write_bytes(b"")
    line = cli_error(["meta", "sdf", str(mixed), "--out", str(tmp_path / "o")])
    assert "mixes 2 shape file(s) with 1 other" in line and "notes.png" in line
    (mixed / "notes.png").unlink()
    (mixed / "s1.npy").unlink()
    with pytest.raises(SirenError, match="holds 1 shape"):
        folder_shapes(mixed)
    scan = str(next((prior_run / "heldout").glob("*.npy")))
    line = cli_error(["sdf", scan, "--init", str(prior_run), "--hidden-features", "16", *QUIET, "--out",
                      str(tmp_path / "o")])
    assert "width 8" in line and "width 16" in line
    png = tmp_path / "img.png"
    save_image(png, np.random.default_rng(0).random((8, 8, 3)))
    line = cli_error(["fit", "image", str(png), "--init", str(prior_run), "--steps", "1", *QUIET, "--out",
                      str(tmp_path / "o")])                                     # an SDF init for an image
    assert "siren 3 -> 1" in line and "siren 2 -> 3" in line
    task = SDFTask.from_config(SDFConfig(path=scan, points=64, batch=16, resolution=8))
    with pytest.raises(SirenError, match=f"latent of {L} numbers"):
        run(task, "siren", TrainConfig(steps=1, device="cpu", progress=False), tmp_path / "o", init=str(prior_run),
            model_options={"hidden_features": 8, "hidden_layers": 1, "latent_features": 8}, report=False)
    assert not (tmp_path / "o").exists()
