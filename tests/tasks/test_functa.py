"""`siren meta train --method functa` (a modulated base, the latent fitted per image by meta-SGD, second order) and
`--init` of such a run: the outer gradient against finite differences in float64, a fit that moves only the latent
and takes exactly the meta-training's inner steps, render / load of the fitted run, `siren meta encode / decode`,
one-line errors (exact resume: test_meta.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.func import functional_call

import siren
from siren.cli import main
from siren.commands.meta import encode
from siren.data.grid import grid
from siren.data.imagefolder import demo_split
from siren.errors import SirenError
from siren.models import build_model, model_from_spec
from siren.models.latent import LatentSiren
from siren.run_folder import load_checkpoint
from siren.tasks.meta import adapt_latent, latent_predict

S, L = 8, 4
TINY = ["--demo", "--method", "functa", "--size", str(S), "--batch-size", "2", "--latent-features", str(L),
        "--hidden-features", "8", "--hidden-layers", "1", "--log-every", "2", "--no-progress", "--no-report",
        "--device", "cpu"]
QUIET = ["--no-progress", "--no-report", "--device", "cpu"]


@pytest.fixture(scope="module")
def functa_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("functa") / "run"
    assert main(["meta", "train", *TINY, "--steps", "4", "--out", str(out)]) == 0
    return out


def _base(ckpt) -> torch.nn.Module:
    model = model_from_spec(ckpt["spec"])
    model.load_state_dict(ckpt["model"])
    return model


def test_outer_gradient_goes_through_the_inner_steps(one_thread):
    """d/d(theta, rates) of mean_b L_b(z_b^K(theta, rates)) by autograd equals a central finite difference in
    float64 along a random direction; the first-order gradient (inner gradients detached) does not."""
    torch.manual_seed(0)
    model = build_model("siren", 2, 3, hidden_features=6, hidden_layers=1, latent_features=3).double()
    with torch.no_grad():
        model.modulation.weight.mul_(3.0)
        model.modulation.bias.normal_(0, 0.1)
    coords, values = grid((4, 4)).double(), torch.rand(2, 16, 3, dtype=torch.float64) * 2 - 1
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    rates = torch.full((3,), 0.5, dtype=torch.float64)

    def outer(p, r, second_order=True):
        class Bound(torch.nn.Module):                     # the model at the parameters p
            latent_features = 3

            def forward(self, c, z):
                return functional_call(model, p, (c, z))
        net = Bound()
        z = adapt_latent(net, r, coords, values, 2, second_order=second_order)[-1]
        return (latent_predict(net, z, coords) - values).pow(2).mean()

    p = {k: v.clone().requires_grad_() for k, v in params.items()}
    r = rates.clone().requires_grad_()
    grads = torch.autograd.grad(outer(p, r), [*p.values(), r])
    first = torch.autograd.grad(outer(p, r, second_order=False), list(p.values()))
    v = {k: torch.randn_like(x) for k, x in params.items()}
    vr = torch.randn_like(rates)
    h = 1e-7                                     # omega_0 30 makes it very curved: a small step
    with torch.no_grad():
        plus = outer({k: params[k] + h * v[k] for k in params}, rates + h * vr)
        minus = outer({k: params[k] - h * v[k] for k in params}, rates - h * vr)
    fd = float((plus - minus) / (2 * h))
    auto = float(sum((g * d).sum() for g, d in zip(grads, [*v.values(), vr])))
    fo = float(sum((g * v[k]).sum() for g, k in zip(first, v)))
    assert auto == pytest.approx(fd, rel=1e-5)
    fd_base = float((outer({k: params[k] + h * v[k] for k in params}, rates)
                     - outer({k: params[k] - h * v[k] for k in params}, rates)).detach() / (2 * h))
    assert abs(fo - fd_base) > 1e-3 * abs(fd_base)          # the second-order terms matter here


def test_fit_from_functa_init_moves_only_the_latent_by_the_meta_steps(functa_run, tmp_path):
    """siren.fit(image, init=RUN) builds a LatentSiren of the base: after K steps its base and rates are the init's
    and its latent is the meta-training's K-step latent for that image (adapt_latent)."""
    base = load_checkpoint(functa_run)
    tt = base["task"]["test_time"]
    assert tt["optimizer"] == "sgd" and tt["steps"] == 3 and len(tt["rates"]) == L
    img = demo_split(S).train[0][0]                                  # a training crop, (S, S, 3) in [-1, 1]
    fitted = siren.fit(((img + 1) / 2).numpy(), init=functa_run, steps=tt["steps"], out=tmp_path / "fit",
                       device="cpu", progress=False, report=False)
    ckpt = load_checkpoint(tmp_path / "fit")
    assert ckpt["spec"]["kind"] == "latent" and ckpt["spec"]["init"]["path"] == str(functa_run.resolve())
    for key, value in base["model"].items():
        torch.testing.assert_close(ckpt["model"][key], value, rtol=0, atol=0)
    torch.testing.assert_close(ckpt["model"]["rates"], torch.tensor(tt["rates"]))
    model = _base(base)
    z = adapt_latent(model, torch.tensor(tt["rates"]), grid((S, S)), img.reshape(1, -1, 3), tt["steps"])
    torch.testing.assert_close(ckpt["model"]["latent"], z[-1][0], rtol=1e-4, atol=1e-6)
    assert ckpt["model"]["latent"].abs().sum() > 0
    assert isinstance(fitted.model, LatentSiren)
    assert [n for n, p in fitted.model.named_parameters() if p.requires_grad] == ["latent"]


def test_latent_siren_takes_sgd_steps_in_backward_and_copies_do_too():
    """backward moves the latent by -rates * grad (nothing else trains, no .grad left for an outer optimizer); a
    deepcopy does the same on its own latent."""
    import copy
    model = build_model("siren", 2, 3, kind="latent", hidden_features=8, hidden_layers=1, latent_features=L)
    model.rates.copy_(torch.tensor([0.5, 0.0, 1.0, 2.0]))
    x = torch.rand(10, 2)
    for m in (model, copy.deepcopy(model)):
        z = m.latent.detach().clone().requires_grad_()
        grad, = torch.autograd.grad(m(x, z).pow(2).mean(), z)
        m(x).pow(2).mean().backward()
        torch.testing.assert_close(m.latent.detach(), -m.rates * grad)
        assert m.latent.grad is None and all(p.grad is None for p in m.parameters())


def test_functa_fit_renders_and_loads(functa_run, tmp_path):
    img = np.random.default_rng(0).random((S, S, 3))
    fitted = siren.fit(img, init=functa_run, steps=2, lr=0.5, out=tmp_path / "fit", device="cpu", progress=False,
                       report=False)
    config = json.loads((tmp_path / "fit" / "config.json").read_text())
    assert config["train"]["lr"] == 0.5 and config["model"]["kind"] == "latent"
    rates = load_checkpoint(functa_run)["task"]["test_time"]["rates"]
    torch.testing.assert_close(fitted.model.rates, 0.5 * torch.tensor(rates))    # --lr scales the learned rates
    again = siren.load(tmp_path / "fit", device="cpu")
    coords = grid((S, S))
    with torch.no_grad():
        want = fitted.model.cpu()(coords, fitted.model.latent)
        torch.testing.assert_close(again.model(coords), want)
    assert main(["render", str(tmp_path / "fit"), "--size", "16", "--out", str(tmp_path / "big.png"),
                 "--device", "cpu"]) == 0
    assert (tmp_path / "big.png").stat().st_size > 0


def test_meta_encode_and_decode(functa_run, tmp_path):
    """encode: each image's latent is the fit's K-step latent (adapt_latent, batched); decode renders them at any
    size."""
    from siren.data.image import load_image, save_image
    folder = tmp_path / "imgs"
    folder.mkdir()
    crops = [demo_split(S).test[i][0] for i in (0, 5, 9)]
    for i, c in enumerate(crops):
        save_image(folder / f"c{i}.png", ((c + 1) / 2).numpy())
    assert main(["meta", "encode", str(folder), "--init", str(functa_run), "--out", str(tmp_path / "z.npz"),
                 "--batch", "2"]) == 0
    data = np.load(tmp_path / "z.npz")
    assert list(data["names"]) == ["c0.png", "c1.png", "c2.png"] and data["latents"].shape == (3, L)
    base = load_checkpoint(functa_run)
    values = torch.stack([torch.from_numpy(2 * load_image(folder / f"c{i}.png") - 1).float() for i in range(3)])
    z = adapt_latent(_base(base), torch.tensor(base["task"]["test_time"]["rates"]), grid((S, S)),
                     values.reshape(3, -1, 3), 3)[-1]
    np.testing.assert_allclose(data["latents"], z.numpy(), rtol=1e-4, atol=1e-6)
    assert main(["meta", "decode", str(tmp_path / "z.npz"), "--init", str(functa_run), "--out", str(tmp_path / "dec"),
                 "--size", "12"]) == 0
    assert sorted(p.name for p in (tmp_path / "dec").iterdir()) == ["c0.png", "c1.png", "c2.png"]
    assert load_image(tmp_path / "dec" / "c1.png").shape == (12, 12, 3)


def test_functa_bad_input_is_one_line_error(functa_run, tmp_path, cli_error):
    img = np.random.default_rng(0).random((S, S, 3))
    with pytest.raises(SirenError, match="latent of 4 numbers"):
        siren.fit(img, init=functa_run, steps=1, latent_features=8, out=tmp_path / "a", device="cpu",
                  progress=False, report=False)
    assert not (tmp_path / "a").exists()
    png = tmp_path / "img.png"
    from siren.data.image import save_image
    save_image(png, img)
    line = cli_error(["fit", "image", str(png), "--init", str(functa_run), "--hidden-features", "16", "--steps", "1",
                      *QUIET, "--out", str(tmp_path / "o")])
    assert "width 8" in line and "width 16" in line
    line = cli_error(["meta", "train", *TINY, "--inner-optimizer", "adam", "--steps", "1", "--out",
                      str(tmp_path / "o")])
    assert "SGD" in line
    line = cli_error(["fit", "image", str(tmp_path), "--init", str(functa_run), "--steps", "1", *QUIET,
                      "--out", str(tmp_path / "o")])
    assert "one image at a time" in line
    assert not (tmp_path / "o").exists()
    np.savez(tmp_path / "z.npz", latents=np.zeros((2, L + 1), np.float32), names=np.array(["a.png", "b.png"]))
    line = cli_error(["meta", "decode", str(tmp_path / "z.npz"), "--init", str(functa_run), "--out",
                      str(tmp_path / "d")])
    assert f"latents of {L} numbers" in line
    (tmp_path / "empty").mkdir()
    assert "no images in" in cli_error(["meta", "encode", str(tmp_path / "empty"), "--init", str(functa_run),
                                        "--out", str(tmp_path / "z2.npz")])
    siren.fit(img, steps=1, hidden_features=8, out=tmp_path / "plain", device="cpu", progress=False, report=False)
    line = cli_error(["meta", "encode", str(tmp_path), "--init", str(tmp_path / "plain"), "--out",
                      str(tmp_path / "z3.npz")])
    assert "plain" in line and "not a" in line and "initialization" in line
    with pytest.raises(SirenError, match="not a functa init"):
        encode(tmp_path, tmp_path / "plain", tmp_path / "z3.npz")
