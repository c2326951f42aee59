import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn

from siren import diff
from siren.cli import main
from siren.data.grid import grid
from siren.data.image import image_gradient
from siren.errors import SirenError
from siren.models import build_model
from siren.tasks.edit import edit_task, parse_mask, place
from siren.tasks.poisson import align, alignment_basis, image_task
from siren.train import TrainConfig, fit

TINY = ["--hidden-features", "16", "--hidden-layers", "1", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny problems: one thread is much faster on busy cores


class Analytic(nn.Module):
    """u(y, x) = 0.6 sin(2y + 0.5) cos(3x) + a + b y + c x: a smooth function with known derivatives."""

    def __init__(self, a=0.0, b=0.0, c=0.0):
        super().__init__()
        self.p = nn.Parameter(torch.tensor([a, b, c]))

    def forward(self, x):
        y, xx = x[:, :1], x[:, 1:]
        return 0.6 * torch.sin(2 * y + 0.5) * torch.cos(3 * xx) + self.p[0] + self.p[1] * y + self.p[2] * xx


def smooth_image(s: int) -> np.ndarray:
    """(s, s, 1) in [0, 1]: the Analytic function mapped from [-1, 1]."""
    with torch.no_grad():
        return ((Analytic()(grid((s, s))) + 1) / 2).reshape(s, s, 1).double().numpy()


def test_align_recovers_offset_and_linear_term():
    rng = np.random.default_rng(0)
    coords = grid((9, 7)).double()
    ref = torch.from_numpy(rng.normal(size=(63, 2)))
    basis = alignment_basis(coords, "linear")
    true = torch.tensor([[0.3, -1.0], [0.5, 0.2], [-0.7, 0.1]], dtype=torch.float64)  # (k, C)
    aligned, coef = align(ref - basis @ true, ref, basis)
    assert torch.allclose(aligned, ref, atol=1e-10) and torch.allclose(coef, true, atol=1e-10)
    # an offset fit is the mean difference; weights restrict the fit to the selected rows
    weight = (coords[:, 0] > 0).double()
    pred = ref + torch.where(weight[:, None] > 0, -2.0, 5.0)
    aligned, coef = align(pred, ref, alignment_basis(coords, "offset"), weight)
    assert torch.allclose(coef, torch.full((1, 2), 2.0, dtype=torch.float64))
    assert torch.allclose(aligned[weight > 0], ref[weight > 0])


@pytest.mark.parametrize("supervise", ["gradient", "laplacian"])
def test_targets_agree_with_network_derivatives(supervise):
    """Sobel / 5-point targets and the network's autograd derivatives are in the same (grid) units: inside the
    image they agree to discretisation error (the border rows use scipy's reflect padding and are excluded)."""
    s = 48
    task = image_task(smooth_image(s), supervise)
    _, g, lap = diff.value_and_derivatives(Analytic(), task.coords, gradient=True, laplacian=True)
    pred = (g if supervise == "gradient" else lap).detach().reshape(s, s, *task.target.shape[1:])
    target = task.target.reshape(pred.shape)
    inner = (slice(1, -1), slice(1, -1))
    rel = (pred - target)[inner].pow(2).mean() / target[inner].pow(2).mean()
    assert rel < 1e-3
    assert task.loss(Analytic(), 0, torch.Generator())[f"{supervise}_mse"][0] < 0.3 * target.pow(2).mean()


def test_alignment_removes_what_the_supervision_cannot_see():
    task_g, task_l = image_task(smooth_image(24), "gradient"), image_task(smooth_image(24), "laplacian")
    exact = task_g.evaluate(Analytic())
    assert exact["psnr"] > 100
    offset = task_g.evaluate(Analytic(a=0.3))                                # invisible to the gradient
    assert offset["psnr"] > 100 and offset["psnr_grad"] == pytest.approx(exact["psnr_grad"], abs=1e-3)
    assert task_g.evaluate(Analytic(a=0.3, b=0.2))["psnr"] < 40              # a slope is visible to the gradient
    shifted = task_l.evaluate(Analytic(a=0.3, b=0.2, c=-0.1))               # invisible to the Laplacian
    assert shifted["psnr"] > 100
    assert shifted["psnr_grad"] == pytest.approx(exact["psnr_grad"], abs=1e-3)  # the gradient is corrected too
    assert shifted["psnr_lap"] == pytest.approx(exact["psnr_lap"], abs=1e-6)


def test_siren_reconstructs_smooth_image_from_gradient():
    task = image_task(smooth_image(24), "gradient")
    model = build_model("siren", 2, 1, hidden_features=32, hidden_layers=2)
    result = fit(model, task, TrainConfig(steps=80, lr=5e-4, log_every=40, progress=False))
    assert result.history[0]["psnr"] < result.history[-1]["psnr"]
    assert result.history[-1]["psnr"] >= 30.0
    assert result.history[-1]["psnr_grad"] >= 30.0


def test_blended_gradient_field_closed_forms():
    rng = np.random.default_rng(1)
    bg, fg = rng.uniform(size=(12, 10, 1)), rng.uniform(size=(12, 10, 3))
    task = edit_task(bg, fg, alpha=0.25)  # gray + RGB -> RGB; no mask: the gradient of the alpha blend
    blend = 0.75 * np.repeat(bg, 3, -1) + 0.25 * fg
    assert np.allclose(task.target.reshape(12, 10, 3, 2).numpy(), image_gradient(2 * blend - 1), atol=1e-5)
    assert task.pinned is None and task.weight is None
    mask = np.zeros((12, 10), bool)
    mask[3:8, 2:6] = True
    task = edit_task(bg, fg, mask)  # alpha 1: foreground gradient inside, background's outside
    target = task.target.reshape(12, 10, 3, 2).numpy()
    assert np.allclose(target[mask], image_gradient(2 * fg - 1)[mask], atol=1e-5)
    assert np.allclose(target[~mask], image_gradient(2 * np.repeat(bg, 3, -1) - 1)[~mask], atol=1e-5)
    assert torch.equal(task.pinned, torch.from_numpy(~mask.reshape(-1)))


def test_place_and_scale():
    a = np.arange(6).reshape(2, 3)
    assert np.array_equal(place(a, (3, 4), 1, 2), [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 3, 4]])
    assert not place(a, (3, 4), 5, 0).any()
    bg = np.zeros((20, 20, 1))
    task = edit_task(bg, np.ones((10, 10, 1)), scale=0.5, at=(0.25, 0.75))  # a 10x10 patch in the top right
    assert np.array_equal(task.mask, place(np.ones((10, 10), bool), (20, 20), 0, 10))
    with pytest.raises(SirenError, match="outside"):
        edit_task(bg, bg, scale=0.2, at=(2.0, 0.5))


def test_seamless_cloning_hides_a_brightness_step():
    """A foreground that is the background plus a constant has the background's gradients: pasting it leaves a
    step at the mask's edge, cloning it in the gradient domain gives back the background."""
    s = 24
    bg = 0.2 + 0.6 * smooth_image(s) * 0.6
    mask = parse_mask("ellipse:0.5,0.5,0.3,0.3", (s, s))
    task = edit_task(bg, bg + 0.25, mask)
    model = build_model("siren", 2, 1, hidden_features=32, hidden_layers=2)
    fit(model, task, TrainConfig(steps=100, lr=5e-4, log_every=100, progress=False))
    composite = task.solve(model)[0].reshape(s, s, 1).numpy()
    psnr = lambda a: 10 * np.log10(1.0 / np.mean(((a + 1) / 2 - bg) ** 2))  # noqa: E731
    assert psnr(task.reference.reshape(s, s, 1).numpy()) < 20  # the naive paste
    assert psnr(composite) > 30


def test_background_values_pin_the_outside_of_the_mask():
    """A ramp cloned into a flat background is not integrable at the seam: with only gradients supervised the
    mismatch shades the background; the value term outside the mask keeps it."""
    s = 24
    bg, fg = np.full((s, s, 1), 0.3), np.broadcast_to(np.linspace(0.2, 0.8, s)[None, :, None], (s, s, 1))
    outside_psnr = {}
    for pin in (True, False):
        torch.manual_seed(0)
        task = edit_task(bg, fg, parse_mask("ellipse:0.5,0.5,0.3,0.3", (s, s)))
        if not pin:
            task.pinned = None
        model = build_model("siren", 2, 1, hidden_features=32, hidden_layers=2)
        outside_psnr[pin] = fit(model, task, TrainConfig(steps=150, lr=5e-4, log_every=150,
                                                         progress=False)).history[-1]["psnr"]
    assert outside_psnr[True] > 40 and outside_psnr[False] < outside_psnr[True] - 10


def test_parse_mask(tmp_path):
    e = parse_mask("ellipse:0.5,0.5,0.25,0.5", (8, 8))
    assert e[4, 0] and e[4, 7] and not e[0, 4] and e.sum() == 28
    b = parse_mask("box:0,0,0.5,0.25", (8, 8))
    assert b.sum() == 8 and b[:4, :2].all()
    img = np.zeros((4, 4), np.uint8)
    img[:2] = 255
    iio.imwrite(tmp_path / "m.png", img)
    assert np.array_equal(parse_mask(str(tmp_path / "m.png"), (8, 8)).sum(1), [8] * 4 + [0] * 4)
    for spec, msg in [("ellipse:1,2", "bad mask"), ("box:0,0,0,0", "selects no pixel"),
                      ("ellipse:0.5,0.5,0,1", "radii"), (str(tmp_path / "none.png"), "not found")]:
        with pytest.raises(SirenError, match=msg):
            parse_mask(spec, (8, 8))


@pytest.mark.parametrize("model,supervise", [("siren", "laplacian"), ("relu_pe", "gradient"), ("tanh", "laplacian")])
def test_cli_poisson(tmp_path, model, supervise):
    out = tmp_path / "run"
    assert main(["poisson", "--demo", "cameraman", "--size", "12", "--supervise", supervise, "--model", model,
                 "--steps", "2", "--out", str(out), *TINY]) == 0
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert {"psnr", "psnr_grad", "psnr_lap"} <= set(m) and m["supervise"] == supervise
    assert m["align"] == {"gradient": "offset", "laplacian": "linear"}[supervise]
    assert (out / "reconstruction.png").is_file() and (out / "derivatives.png").is_file()


def test_cli_edit(tmp_path):
    rng = np.random.default_rng(0)
    iio.imwrite(tmp_path / "bg.png", rng.integers(0, 255, (16, 12), dtype=np.uint8))
    iio.imwrite(tmp_path / "fg.png", rng.integers(0, 255, (8, 6, 3), dtype=np.uint8))
    out = tmp_path / "run"
    assert main(["edit", str(tmp_path / "bg.png"), str(tmp_path / "fg.png"), "--mask", "box:0.2,0.2,0.8,0.8",
                 "--scale", "0.5", "--at", "0.4,0.5", "--size", "16", "--steps", "2", "--out", str(out), *TINY]) == 0
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert {"psnr", "psnr_grad"} <= set(m)
    assert iio.imread(out / "composite.png").shape == (16, 12, 3) and (out / "edit.png").is_file()


@pytest.mark.parametrize("argv,msg", [
    (["poisson", "--size", "8"], "PATH or --demo"),
    (["poisson", "--demo", "cameraman", "--supervise", "div"], "invalid choice"),
    (["edit", "nope.png", "moon"], "image not found"),
    (["edit", "moon", "brick", "--alpha", "2"], "alpha"),
    (["edit", "moon", "brick", "--at", "0.5"], "--at"),
    (["edit", "moon", "brick", "--scale", "0"], "--scale"),
    (["edit", "moon", "brick", "--mask", "circle:1"], "not found"),
])
def test_cli_errors(tmp_path, capsys, argv, msg):
    code = main([*argv, "--size", "8", "--steps", "1", "--out", str(tmp_path / "o"), *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and msg in err[0], err
    assert not (tmp_path / "o").exists()
