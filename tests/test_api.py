"""siren.api: fit from arrays and paths, render at another size, derivatives, load; the example notebook runs."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import siren
from siren.data.grid import grid
from siren.data.image import save_image
from siren.errors import SirenError

ROOT = Path(__file__).resolve().parents[1]


def _image(n=24):
    y, x = np.mgrid[0:n, 0:n] / (n - 1)
    return np.stack([0.5 + 0.4 * np.sin(3 * x + 2 * y), x, y], axis=-1)


def test_fit_array_render_derivatives_and_load(tmp_path):
    fitted = siren.fit(_image(), steps=40, lr=1e-3, out=tmp_path / "run", progress=False, report=False,
                       hidden_features=32, hidden_layers=2)
    assert fitted.kind == "image" and fitted.shape == (24, 24) and fitted.metrics["psnr"] > 15
    assert fitted.render().shape == (24, 24, 3) and fitted.render(48).shape == (48, 48, 3)
    d = fitted.derivatives(64)
    assert d.value.shape == (64, 64, 3) and d.gradient.shape == (64, 64, 3, 2) and d.laplacian.shape == (64, 64, 3)
    # against autograd of the module itself on the same grid (coordinates (y, x) in [-1, 1], endpoints included)
    x = grid((64, 64)).requires_grad_(True)
    red = fitted.model(x)[:, 0]
    (g,) = torch.autograd.grad(red.sum(), x)
    assert np.allclose(d.gradient[..., 0, :].reshape(-1, 2), g.numpy(), atol=1e-3 * np.abs(g.numpy()).max())
    # render is the network's values mapped from [-1, 1] to [0, 1]
    assert np.allclose(fitted.render(64), np.clip((d.value + 1) / 2, 0, 1), atol=1e-5)
    again = siren.load(fitted.out)
    assert np.array_equal(again.render(), fitted.render()) and again.metrics == fitted.metrics


def test_fit_path_and_audio_array(tmp_path):
    save_image(tmp_path / "x.png", _image(16))
    fitted = siren.fit(tmp_path / "x.png", steps=2, out=tmp_path / "img", progress=False, report=False)
    assert fitted.kind == "image" and fitted.shape == (16, 16)
    t = np.arange(400) / 8000
    audio = siren.fit(0.5 * np.sin(2 * np.pi * 440 * t), rate=8000, steps=2, progress=False, report=False,
                      out=tmp_path / "audio")
    assert audio.kind == "audio" and audio.render().shape == (400, 1) and audio.render(800).shape == (800, 1)
    assert np.abs(audio.render()).max() <= 0.5 * 1.5          # at the clip's own scale, not [-1, 1]


def test_fit_tensor_video_shape(tmp_path):
    frames = torch.rand(3, 8, 8, 3)
    fitted = siren.fit(frames, steps=2, progress=False, report=False, out=tmp_path / "v")
    assert fitted.kind == "video" and fitted.render(16).shape == (3, 16, 16, 3)


@pytest.mark.parametrize("signal, kw, words", [
    (np.zeros((2, 3, 4, 5, 6)), {}, "cannot fit an array of shape"),
    (np.zeros(100), {}, "cannot fit"),
    (np.zeros(100), {"rate": -5}, "sample rate"),
    ("no/such/file.png", {}, "not found"),
])
def test_bad_signals_are_one_line_errors(signal, kw, words):
    with pytest.raises(SirenError, match=words) as e:
        siren.fit(signal, steps=1, progress=False, **kw)
    assert "\n" not in str(e.value)


def test_load_refuses_other_runs(tmp_path):
    from siren.cli import main
    main(["helmholtz", "--k", "4", "--n", "32", "--batch", "64", "--steps", "1", "--no-progress", "--no-report",
          "--out", str(tmp_path / "h")])
    with pytest.raises(SirenError, match="not of one signal fit"):
        siren.load(tmp_path / "h")


def test_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    os.environ["SIREN_NOTEBOOK_TINY"] = "1"
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        del os.environ["SIREN_NOTEBOOK_TINY"]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def _cli_metrics(args, out):
    from siren.cli import main
    assert main([*args, "--out", str(out), "--no-progress", "--no-report"]) == 0
    import json
    return json.loads((out / "metrics.json").read_text())["metrics"]


def test_fit_equals_the_command_for_image_audio_and_video(tmp_path):
    """siren.fit(x) and `siren fit KIND x` build the same task from the same Config, defaults included (the
    batch per step, the schedule): the same metrics for the same seed."""
    from scipy.io import wavfile
    from siren.data.video import moving_pattern
    save_image(tmp_path / "x.png", _image(20))
    t = np.arange(600) / 8000
    wavfile.write(tmp_path / "a.wav", 8000, (0.4 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16))
    np.save(tmp_path / "v.npy", moving_pattern(frames=3, size=8))
    small = {"hidden_features": 16, "hidden_layers": 1}
    flags = ["--hidden-features", "16", "--hidden-layers", "1", "--steps", "4", "--seed", "3"]
    for kind, name in (("image", "x.png"), ("audio", "a.wav"), ("video", "v.npy")):
        fitted = siren.fit(tmp_path / name, steps=4, seed=3, out=tmp_path / f"api_{kind}", progress=False,
                           report=False, **small)
        assert fitted.metrics == _cli_metrics(["fit", kind, str(tmp_path / name), *flags], tmp_path / f"cli_{kind}")


def test_a_folder_fit_starts_from_the_learned_init(tmp_path):
    """`siren fit image FOLDER --init RUN` in one process starts every member from the init: with a learning
    rate too small to move the weights, each fit is the init's function."""
    import json
    from siren.cli import main
    from siren.launch import load_init
    meta = tmp_path / "meta"
    assert main(["meta", "train", "--demo", "--size", "8", "--batch-size", "2", "--inner-steps", "1", "--steps", "2",
                 "--hidden-features", "8", "--hidden-layers", "1", "--no-progress", "--no-report",
                 "--out", str(meta)]) == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        save_image(photos / f"{i}.png", _image(8) * (0.5 + 0.2 * i))
    out = tmp_path / "fit"
    assert main(["fit", "image", str(photos), "--init", str(meta), "--steps", "1", "--lr", "1e-30", "--no-progress",
                 "--no-report", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["init"]["path"] == str(meta.resolve())
    from siren.run_folder import load_checkpoint, model_from_checkpoint
    fitted = model_from_checkpoint(load_checkpoint(out))
    source, _ = load_init(meta)
    for w, w0 in zip(fitted.weights, source.weights):
        torch.testing.assert_close(w, w0.expand_as(w))
