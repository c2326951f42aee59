"""Task defaults, `--preset paper`, --target early stopping and cheap evaluation of large signals."""
import json

import imageio.v3 as imageio
import numpy as np
import pytest
import torch

from siren.cli import main, parse
from siren.data.image import image_signal
from siren.models import build_model
from siren.tasks import ImageFitTask
from siren.tasks.fit import EVAL_POINTS
from siren.metrics import unit_psnr
from siren.rendering import render

TINY = ["--hidden-features", "16", "--hidden-layers", "1", "--no-progress"]


def test_preset_paper_sets_the_papers_settings_and_explicit_flags_win():
    base = ["fit", "image", "--demo", "cameraman", "--out", "x"]
    args = parse(base)
    assert (args.batch, args.lr, args.schedule, args.steps) == (None, 5e-4, "cosine", 800)
    args = parse(base + ["--preset", "paper"])
    assert (args.batch, args.lr, args.schedule, args.steps) == (0, 1e-4, None, 500)
    args = parse(base + ["--preset", "paper", "--steps", "300", "--lr", "3e-4"])
    assert (args.batch, args.lr, args.schedule, args.steps) == (0, 3e-4, None, 300)


def test_preset_paper_trains_full_batch_and_constant_lr(tmp_path):
    img = tmp_path / "img.png"
    yy, xx = np.mgrid[0:12, 0:10]
    import imageio.v3 as iio
    iio.imwrite(img, (127 + 100 * np.sin(yy / 3.0) * np.cos(xx / 2.0)).astype(np.uint8))
    assert main(["fit", "image", str(img), "--preset", "paper", "--steps", "3", "--out", str(tmp_path / "r"),
                 *TINY]) == 0
    train = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert train["lr"] == 1e-4 and train["schedule"] is None and train["steps"] == 3


def test_schedule_constant_is_accepted_and_bad_batch_is_one_line(tmp_path, cli_error):
    assert parse(["fit", "image", "--demo", "cameraman", "--schedule", "constant", "--out", "x"]).schedule == "constant"
    assert "--batch" in cli_error(["fit", "image", "--demo", "cameraman", "--size", "8", "--batch", "-5",
                                   "--out", str(tmp_path / "o")])


def test_target_stops_at_the_first_log_step_that_reaches_it(tmp_path):
    out = tmp_path / "r"
    assert main(["fit", "image", "--demo", "cameraman", "--size", "16", "--steps", "400", "--log-every", "5",
                 "--target", "20", "--out", str(out), *TINY]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert summary["steps"] < 400 and summary["steps"] == log[-1]["step"]
    assert log[-1]["psnr"] >= 20 and all(r["psnr"] < 20 for r in log[:-1])
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == summary["steps"]


def test_random_batches_are_the_default_and_batch_zero_is_every_pixel(monkeypatch):
    from siren.tasks import fit
    signal = image_signal(np.random.default_rng(0).random((200, 200, 1)))
    gen = torch.Generator().manual_seed(0)
    model = build_model("siren", 2, 1, hidden_features=8, hidden_layers=1)
    seen, derivatives = [], fit.diff.derivatives
    monkeypatch.setattr(fit.diff, "derivatives", lambda m, x, *a, **k: seen.append(x) or derivatives(m, x, *a, **k))
    ImageFitTask(signal, max_batch=16_384).loss(model, 0, gen)
    ImageFitTask(signal, max_batch=262_144).loss(model, 0, gen)
    assert [x.shape[0] for x in seen] == [16_384, 40_000]
    assert len(torch.unique(seen[0], dim=0)) == 16_384          # distinct pixels


def test_large_signals_are_scored_on_a_fixed_subset_close_to_the_whole():
    side = 300                                       # 90,000 pixels > EVAL_POINTS
    yy, xx = np.mgrid[0:side, 0:side] / side
    img = 0.5 + 0.4 * np.sin(9 * yy + 4 * np.cos(7 * xx))[..., None]
    task = ImageFitTask(image_signal(img))
    model = build_model("siren", 2, 1, hidden_features=16, hidden_layers=1)
    pred, truth = task.eval_prediction(model)
    assert pred.shape[0] == EVAL_POINTS == truth.shape[0]
    full = unit_psnr(render(model, (side, side)), task.values.reshape(side, side, 1))
    assert task.evaluate(model)["psnr"] == pytest.approx(full, abs=0.1)
    assert task.evaluate(model) == task.evaluate(model)          # the same subset at every log step


def test_default_batch_is_an_eighth_of_the_pixels_within_bounds(tmp_path):
    from siren.tasks.fit_image import ImageConfig, default_batch
    assert [default_batch(n) for n in (1_000, 65_536, 100_000, 1 << 20)] == [8_192, 8_192, 12_500, 16_384]
    img = tmp_path / "img.png"
    imageio.imwrite(img, (np.random.default_rng(0).random((400, 300)) * 255).astype(np.uint8))
    assert ImageFitTask.from_config(ImageConfig(path=str(img))).max_batch == 15_000
    assert ImageFitTask.from_config(ImageConfig(path=str(img), batch=0)).max_batch == 262_144
