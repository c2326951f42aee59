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
    main(["helmholtz", "--k", "4", "--n", "32", "--points", "64", "--steps", "1", "--no-progress", "--no-report",
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
