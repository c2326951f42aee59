import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from siren.cli import main
from siren.data.image import image_signal
from siren.errors import SirenError
from siren.models import build_model
from siren.tasks.fit_image import ImageFitTask
from siren.data.image import load_image_folder
from siren.tasks.fit_batch import BatchFitTask
from siren.train import TrainConfig, fit
from siren.run_folder import load_checkpoint, model_from_checkpoint

ARCH = dict(hidden_features=16, hidden_layers=1)


def _signals(shapes, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [image_signal(rng.random((h, w, channels))) for h, w in shapes]


def test_loss_and_metrics_are_those_of_separate_fit_tasks(device):
    """Padded batch of differently sized images: loss = sum of each member's FitTask MSE, PSNRs = FitTask's."""
    signals = _signals([(6, 6), (4, 9), (5, 3)])
    task = BatchFitTask(signals, ["a", "b", "c"]).to(device)
    model = build_model("siren", 2, 3, kind="batched", num_signals=3, **ARCH).to(device)
    gen = torch.Generator().manual_seed(0)
    singles = [ImageFitTask(s).to(device) for s in signals]
    expected = sum(t.loss(model.member(b), 0, gen)["mse"][0] for b, t in enumerate(singles))
    torch.testing.assert_close(task.loss(model, 0, gen)["mse_sum"][0], expected, rtol=1e-5, atol=1e-7)
    psnrs = [t.evaluate(model.member(b))["psnr"] for b, t in enumerate(singles)]
    np.testing.assert_allclose(task.psnrs(model), psnrs, atol=1e-4)
    assert task.evaluate(model)["psnr"] == pytest.approx(np.mean(psnrs), abs=1e-4)


def test_subsampled_batches_draw_only_real_pixels():
    """With few points per step, each member draws from its own grid (never the zero padding) and the loss is
    still the sum of per-image mean squared errors (constant images c_b against a zero model: sum c_b^2)."""
    signals = [image_signal(np.full((2, 2, 1), 0.75)), image_signal(np.full((6, 6, 1), 0.25))]
    task = BatchFitTask(signals, ["small", "big"], max_batch=20)
    seen = []

    def zero_model(coords):
        seen.append(coords)
        return torch.zeros(*coords.shape[:2], 1)

    loss = task.loss(zero_model, 0, torch.Generator().manual_seed(1))["mse_sum"][0]
    assert seen[0].shape == (2, 10, 2)
    assert torch.all(seen[0][0].abs() == 1.0)  # the 2x2 grid is the corners; padding sits at (0, 0)
    torch.testing.assert_close(loss, torch.tensor(0.5 ** 2 + 0.5 ** 2))


def test_batch_training_equals_sequential_runs():
    """Seeded alike, fitting the batch = fitting each image alone: member b starts as the Siren seeded seed + b,
    gets exactly the gradient of its own MSE (loss is a sum, members share nothing) and Adam is element-wise."""
    signals = _signals([(8, 8), (6, 9), (8, 8)], seed=1)
    cfg = TrainConfig(steps=30, lr=1e-3, log_every=30, progress=False)
    batch = build_model("siren", 2, 3, kind="batched", num_signals=3, seeds=[10, 11, 12], **ARCH)
    task = BatchFitTask(signals, ["a", "b", "c"])
    fit(batch, task, cfg)
    batch_psnr = task.psnrs(batch)
    for b, signal in enumerate(signals):
        torch.manual_seed(10 + b)
        single = build_model("siren", 2, 3, **ARCH)
        before = ImageFitTask(signal).evaluate(single)["psnr"]
        result = fit(single, ImageFitTask(signal), cfg)
        assert result.history[-1]["psnr"] > before + 2  # it trained
        assert batch_psnr[b] == pytest.approx(result.history[-1]["psnr"], abs=1e-3)
        for p, q in zip(batch.member(b).parameters(), single.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def _write_images(folder, specs):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, (h, w, c) in specs.items():
        img = (rng.random((h, w, c)) * 255).astype(np.uint8)
        iio.imwrite(folder / name, img[..., 0] if c == 1 else img)
    return folder


def test_load_folder_size_and_channel_rules(tmp_path):
    folder = _write_images(tmp_path / "imgs", {"b.png": (10, 20, 3), "a.png": (8, 8, 1)})
    (folder / "notes.txt").write_text("not an image")
    signals, names = load_image_folder(folder, size=6)
    assert names == ["a.png", "b.png"]
    assert [s.shape for s in signals] == [(6, 6), (3, 6)]  # longer side 6, aspect kept
    assert all(s.channels == 3 for s in signals)  # gray repeated to RGB
    torch.testing.assert_close(signals[0].values[..., 0], signals[0].values[..., 2])
    with pytest.raises(SirenError, match="no images"):
        load_image_folder(tmp_path)


def test_cli_fits_a_folder(tmp_path, capsys):
    folder = _write_images(tmp_path / "imgs", {"x.png": (8, 8, 3), "y.png": (6, 9, 3), "z.png": (8, 8, 1)})
    out = tmp_path / "run"
    args = ["fit", "image", str(folder), "--steps", "6", "--hidden-features", "16", "--hidden-layers", "1",
            "--log-every", "3", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    assert "done: 6 steps (mean_psnr" in capsys.readouterr().out
    result = json.loads((out / "metrics.json").read_text())
    assert [r["name"] for r in result["metrics"]["images"]] == ["x.png", "y.png", "z.png"]
    assert all((out / r["reconstruction"]).is_file() for r in result["metrics"]["images"])
    ckpt = load_checkpoint(out)
    model = model_from_checkpoint(ckpt)
    assert ckpt["spec"]["options"]["seeds"] == [0, 1, 2]
    signals, names = load_image_folder(folder)
    np.testing.assert_allclose(BatchFitTask(signals, names).psnrs(model), [r["psnr"] for r in result["metrics"]["images"]],
                               atol=0.01)  # metrics.json scores the 8-bit-free render; same model, same PSNR
    assert main(args) == 2  # existing run folder
    assert "holds a run (pass --resume" in capsys.readouterr().err
    assert main(args[:-2] + ["--model", "relu", "--out", str(tmp_path / "r2")]) == 2
    assert "unknown model 'relu' of kind batched" in capsys.readouterr().err
