"""`siren prior train` (set, CNN and CNP priors on tiny images), its loss terms and resume, and the inpaint /
interpolate commands on its checkpoints; bad input is a one-line error with exit code 2."""
from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from siren.cli import main
from siren.data.image import save_image
from siren.data.imagefolder import folder_split
from siren.models import build_model
from siren.data.masks import context_masks, fixed_masks, half_mask
from siren.tasks.prior import PriorTask
from siren.train import TrainConfig, fit
from siren.run_folder import load_checkpoint

TINY = ["--demo", "--size", "8", "--batch-size", "4", "--context-max", "20", "--latent-dim", "8",
        "--encoder-hidden", "8", "--encoder-layers", "1", "--hidden-features", "8", "--hidden-layers", "1",
        "--log-every", "1", "--no-progress", "--no-report"]


def _train(out, encoder="set", steps=2):
    extra = [] if encoder == "cnp" else ["--hyper-hidden", "8"]
    assert main(["prior", "train", *TINY, *extra, "--encoder", encoder, "--steps", str(steps), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 2-step set-encoder prior on 8x8 demo crops."""
    return _train(tmp_path_factory.mktemp("prior") / "run")


@pytest.fixture
def prior_error(capsys):
    """Run `siren prior inpaint / interpolate` on bad input: exit code 2 and one line `error: ...`."""
    def run(argv):
        code, err = main(["prior", *argv]), capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error: "), (code, err)
        return err[0]
    return run


def _photo(path, seed=0, shape=(10, 14, 3)):
    save_image(path, np.random.default_rng(seed).random(shape))
    return path


@pytest.mark.parametrize("encoder,terms", [("set", {"mse": 1.0, "latent": 0.1, "params": 100.0}),
                                           ("cnn", {"mse": 1.0, "latent": 0.1, "params": 100.0}),
                                           ("cnp", {"nll": 1.0, "mse": 0.0})])
def test_train_each_encoder_logs_its_raw_terms_and_weights(tmp_path, encoder, terms):
    out = _train(tmp_path / "run", encoder)
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["model"] == encoder and summary["steps"] == 2
    assert {"mse_10", "psnr", "test_images"} <= set(summary["metrics"]) and summary["metrics"]["test_images"] == 440
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["weights"] == terms and all(np.isfinite(record[k]) for k in terms)
    assert record["loss"] == pytest.approx(sum(w * record[k] for k, w in terms.items()), rel=1e-5)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["name"] == encoder and config["model"]["options"]["resolution"] == 8
    assert config["task"]["data"]["split"].startswith("by photograph")
    assert iio.imread(out / "inpainting.png").ndim == 3


def test_context_sizes_are_drawn_per_image_in_the_range():
    gen = torch.Generator().manual_seed(0)
    masks = context_masks(200, (16, 16), 10, 200, gen)
    counts = masks.flatten(1).sum(1)
    assert masks.shape == (200, 16, 16) and counts.min() >= 10 and counts.max() <= 200
    assert counts.float().std() > 30                          # drawn per image, roughly uniform (std ~55)
    fixed = fixed_masks(5, (16, 16), 100)
    assert torch.equal(fixed, fixed_masks(5, (16, 16), 100)) and (fixed.flatten(1).sum(1) == 100).all()
    assert half_mask((5, 4)).sum() == 8 and half_mask((5, 4))[:2].all()


def test_resumed_run_equals_uninterrupted_with_loader_workers(tmp_path):
    """Ctrl-C at step 3, resume to 6 (a folder read by one worker process): the same final loss as 6 steps in one
    go, because the batch of a step depends only on the seed and the step, and the task's state is saved."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        _photo(folder / f"p{i}.png", seed=i)
    cfg = TrainConfig(steps=6, lr=1e-3, log_every=1, checkpoint_every=3, progress=False)

    def model(seed):
        torch.manual_seed(seed)
        return build_model("cnn", 2, 3, kind="prior", resolution=8, latent_dim=4, hidden_features=8, hidden_layers=1,
                           hyper_hidden=8, encoder_hidden=4, encoder_layers=1)

    def task():
        return PriorTask(folder_split(folder, 8), batch_size=3, context=(2, 20), workers=1)

    full = fit(model(0), task(), cfg, tmp_path / "a")

    def interrupt(step, record):
        if step == 3:
            raise KeyboardInterrupt

    part = fit(model(0), task(), cfg, tmp_path / "b", callback=interrupt)
    assert part.interrupted and load_checkpoint(tmp_path / "b")["task_state"]["data_seed"] is not None
    resumed = fit(model(1), task(), cfg, tmp_path / "b", resume=True)
    assert resumed.step == 6
    assert resumed.loss == pytest.approx(full.loss, rel=1e-6)
    assert resumed.history[-1]["psnr"] == pytest.approx(full.history[-1]["psnr"], abs=1e-6)


def test_train_bad_input_is_one_line_error(tmp_path, cli_error):
    (tmp_path / "empty").mkdir()
    assert "no images in" in cli_error(["prior", "train", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_text("text, not a JPEG")
    (bad / "b.png").write_bytes(b"\x89PNG broken")
    assert "no readable image" in cli_error(["prior", "train", str(bad), "--out", str(tmp_path / "o")])
    assert "larger than the 64 pixels" in cli_error(["prior", "train", "--demo", "--size", "8", "--out",
                                                      str(tmp_path / "o")])         # default --context-max 200
    assert "unrecognized arguments: --model" in cli_error(["prior", "train", *TINY, "--model", "relu", "--out",
                                                        str(tmp_path / "o")])
    assert "not both" in cli_error(["prior", "train", str(bad), "--demo", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_inpaint_writes_context_reconstruction_truth(checkpoint, tmp_path):
    image = _photo(tmp_path / "face.png")
    assert main(["prior", "inpaint", str(checkpoint), str(image), "--context", "10", "--render-size", "16",
                       "--out", str(tmp_path / "in")]) == 0
    summary = json.loads((tmp_path / "in" / "metrics.json").read_text())
    assert summary["task"] == "prior inpaint" and summary["metrics"]["context"] == 10
    assert 0 <= summary["metrics"]["mse"] <= 1
    assert iio.imread(tmp_path / "in" / "reconstruction.png").shape == (16, 16, 3)
    ctx = iio.imread(tmp_path / "in" / "context.png")
    assert ctx.shape == (8, 8, 3)
    listed = {e["path"] for e in json.loads((tmp_path / "in" / "outputs.json").read_text())}
    assert {"inpainting.png", "context.png", "reconstruction.png", "metrics.json"} <= listed
    assert main(["prior", "inpaint", str(checkpoint), str(image), "--context", "half", "--out",
                       str(tmp_path / "half")]) == 0
    assert json.loads((tmp_path / "half" / "metrics.json").read_text())["metrics"]["context"] == 32


def test_interpolate_writes_a_strip(checkpoint, tmp_path):
    a, b = _photo(tmp_path / "a.png", 1), _photo(tmp_path / "b.png", 2, (9, 9))
    out = tmp_path / "strip.png"
    assert main(["prior", "interpolate", str(checkpoint), str(a), str(b), "--frames", "3", "--render-size", "16",
                       "--out", str(out)]) == 0
    strip = iio.imread(out)
    assert strip.shape == (16, 5 * 16 + 2 * 2, 3)              # A, gap, 3 frames, gap, B


def test_inpaint_and_interpolate_bad_input(checkpoint, tmp_path, prior_error):
    image = _photo(tmp_path / "x.png")
    assert "larger than the image" in prior_error(["inpaint", str(checkpoint), str(image), "--context", "1000",
                                                   "--out", str(tmp_path / "o")])
    assert "'half'" in prior_error(["inpaint", str(checkpoint), str(image), "--context", "most", "--out",
                                    str(tmp_path / "o")])
    assert "image not found" in prior_error(["inpaint", str(checkpoint), str(tmp_path / "nope.png"), "--out",
                                             str(tmp_path / "o")])
    fitted = tmp_path / "fit"
    assert main(["fit", "image", "--demo", "cameraman", "--size", "8", "--hidden-features", "8", "--steps", "1",
                 "--no-progress", "--no-report", "--out", str(fitted)]) == 0
    assert "'fit image', not of `siren prior train`" in prior_error(["inpaint", str(fitted), str(image), "--out",
                                                                      str(tmp_path / "o")])
    assert "not found" in prior_error(["interpolate", str(tmp_path / "none"), str(image), str(image), "--out",
                                       str(tmp_path / "s.png")])
    assert "NAME.png" in prior_error(["interpolate", str(checkpoint), str(image), str(image), "--out",
                                      str(tmp_path / "s.txt")])
    assert not (tmp_path / "o").exists()
