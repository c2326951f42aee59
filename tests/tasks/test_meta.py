"""`siren meta train` (learned initializations) and `--init RUN` on `siren fit image`: the Reptile gradient in closed
form, the functional Adam inner loop against torch.optim.Adam through `fit image`, a learned init beating the
standard one on a tiny class, exact resume, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from siren.cli import main, parse
from siren.data.grid import grid
from siren.data.image import load_image, save_image
from siren.data.imagefolder import ImageTensors, Split
from siren.models import build_model
from siren.run_folder import load_checkpoint
from siren.tasks.meta import MetaTask, adapt, predict, unit_psnrs
from siren.train import TrainConfig, fit

S = 8
TINY = ["--demo", "--size", str(S), "--batch-size", "2", "--inner-steps", "2", "--hidden-features", "8",
        "--hidden-layers", "1", "--log-every", "2", "--no-progress", "--no-report", "--device", "cpu"]


def _class(n: int, seed: int) -> torch.Tensor:
    """n images (n, S, S, 3) in [-1, 1] of one class: a smooth colour ramp of random slope and offset."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij")
    a, b, c = (torch.rand(3, n, 1, 1, 3, generator=g) - 0.5)
    return (0.8 * torch.tanh(2 * a * x[..., None] + 2 * b * y[..., None] + c)).float()


def _task(method="reptile", optimizer="adam", steps=2, lr=1e-2, batch=4, seed=0):
    split = Split(ImageTensors(_class(24, seed), [f"tr{i}" for i in range(24)]),
                  ImageTensors(_class(6, seed + 1), [f"te{i}" for i in range(6)]), "synthetic", "separate draw")
    return MetaTask(split, batch, method, steps, optimizer, lr)


def _theta(seed=0):
    return build_model("siren", 2, 3, kind="batched", hints={"num_signals": 1, "seed": seed}, hidden_features=8,
                       hidden_layers=1)


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory):
    """A 4-step meta run on 8x8 demo crops."""
    out = tmp_path_factory.mktemp("meta") / "run"
    assert main(["meta", "train", *TINY, "--steps", "4", "--out", str(out)]) == 0
    return out


def test_reptile_gradient_is_the_closed_form(one_thread):
    """SGD, one inner step: phi_b = theta - a grad L_b(theta), so the Reptile term's gradient theta - mean phi_b
    is a mean_b grad L_b(theta)."""
    task, model = _task(optimizer="sgd", steps=1, lr=0.05), _theta()
    gen = torch.Generator().manual_seed(0)
    task.loss(model, 0, gen)["reptile"][0].backward()
    values = task._batch(0, torch.Generator().manual_seed(0))
    theta = dict(model.named_parameters())
    mse = ((predict(model, {k: v.expand(4, *v.shape[1:]) for k, v in theta.items()}, task.coords) - values)
           .pow(2).mean((1, 2)).mean())
    for p, g in zip(theta.values(), torch.autograd.grad(mse, list(theta.values()))):
        torch.testing.assert_close(p.grad, 0.05 * g, rtol=1e-4, atol=1e-7)


def test_maml_backpropagates_through_the_inner_steps(one_thread):
    task, model = _task(method="maml", optimizer="sgd", steps=2, lr=0.05), _theta()
    terms = task.loss(model, 0, torch.Generator().manual_seed(0))
    assert set(terms) == {"mse"}
    terms["mse"][0].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_learned_init_beats_the_standard_one_after_a_few_steps(one_thread):
    task, model = _task(steps=3, lr=1e-2, batch=8), _theta()
    held = task._test_images(6)

    def psnr_after(steps):
        return float(np.mean(unit_psnrs(model, task._adapt(model, held, steps)[-1], task.coords, held)))

    before = psnr_after(3)
    fit(model, task, TrainConfig(steps=150, lr=1e-2, log_every=150, progress=False, device="cpu"))
    assert psnr_after(3) > before + 2.0


def test_fit_from_init_takes_the_inner_steps(meta_run, tmp_path):
    """`siren fit image --init RUN` (Adam at the init's learning rate, by default) after K steps is the meta task's
    functional Adam after K steps: the init is trained for exactly what the fit does."""
    img = tmp_path / "img.png"
    save_image(img, np.random.default_rng(0).random((S, S, 3)))
    assert main(["fit", "image", str(img), "--init", str(meta_run), "--steps", "2", "--log-every", "1",
                 "--no-progress", "--no-report", "--device", "cpu", "--out", str(tmp_path / "fit")]) == 0
    config = json.loads((tmp_path / "fit" / "config.json").read_text())
    assert config["train"]["lr"] == 1e-3 and config["model"]["init"]["path"] == str(meta_run.resolve())
    assert load_checkpoint(tmp_path / "fit")["spec"]["init"]["test_time"]["steps"] == 2
    ckpt = load_checkpoint(meta_run)
    model = build_model("siren", 2, 3, kind="batched", **ckpt["spec"]["options"])
    model.load_state_dict(ckpt["model"])
    values = torch.from_numpy(2 * load_image(img) - 1).float().reshape(1, -1, 3)
    phi = adapt(model, dict(model.named_parameters()), grid((S, S)), values, 2, 1e-3)[-1]
    psnr = json.loads((tmp_path / "fit" / "metrics.json").read_text())["metrics"]["psnr"]
    assert unit_psnrs(model, phi, grid((S, S)), values)[0] == pytest.approx(psnr, abs=1e-3)


def test_init_sets_defaults_and_flags_win(meta_run, tmp_path):
    args = parse(["fit", "image", "x.png", "--init", str(meta_run), "--out", str(tmp_path / "o")])
    assert (args.lr, args.hidden_features, args.hidden_layers) == (1e-3, 8, 1)
    args = parse(["fit", "image", "x.png", "--init", str(meta_run), "--lr", "2e-4", "--out", str(tmp_path / "o")])
    assert args.lr == 2e-4


@pytest.mark.parametrize("method", [[], ["--method", "functa", "--latent-features", "4"]], ids=["reptile", "functa"])
def test_resume_continues_exactly(tmp_path, method):
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["meta", "train", *TINY, *method, "--steps", "4", "--out", str(full)]) == 0
    assert main(["meta", "train", *TINY, *method, "--steps", "2", "--out", str(part)]) == 0
    assert main(["meta", "train", *TINY, *method, "--steps", "4", "--out", str(part), "--resume"]) == 0
    a, b = load_checkpoint(full), load_checkpoint(part)
    assert b["step"] == 4
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, rtol=0, atol=0)
    if method:                                      # functa: the learned rates too
        torch.testing.assert_close(b["task_state"]["rates"], a["task_state"]["rates"], rtol=0, atol=0)
        assert b["task"]["test_time"]["rates"] == a["task"]["test_time"]["rates"]


def test_bad_input_is_one_line_error(meta_run, tmp_path, cli_error):
    (tmp_path / "empty").mkdir()
    assert "no images in" in cli_error(["meta", "train", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert "not both" in cli_error(["meta", "train", str(tmp_path / "empty"), "--demo", "--out", str(tmp_path / "o")])
    img = tmp_path / "img.png"
    save_image(img, np.random.default_rng(0).random((S, S, 3)))
    fit = ["fit", "image", str(img), "--steps", "1", "--no-progress", "--out", str(tmp_path / "o")]
    line = cli_error([*fit, "--init", str(meta_run), "--hidden-features", "16"])
    assert "width 8" in line and "width 16" in line
    assert main(["fit", "image", str(img), "--steps", "1", "--no-progress", "--no-report", "--device", "cpu",
                 "--out", str(tmp_path / "plain")]) == 0
    assert "not a learned initialization" in cli_error([*fit, "--init", str(tmp_path / "plain")])
    assert "checkpoint not found" in cli_error([*fit, "--init", str(tmp_path / "nowhere")])
    assert not (tmp_path / "o").exists()
