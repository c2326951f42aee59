import json
import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from scipy.io import wavfile

from siren import metrics
from siren.cli import main
from helpers import snr_db, tones_and_chirp
from siren.data.audio import audio_signal
from siren.data.video import moving_pattern, video_signal
from siren.models import build_model
from siren.rendering import render, render_frames
from siren.tasks.fit_audio import AudioFitTask
from siren.tasks.fit_video import VideoFitTask
from siren.train import TrainConfig, fit

TINY = ["--hidden-features", "16", "--hidden-layers", "1", "--no-progress", "--log-every", "1"]


def _audio_task(rate=4000, seconds=0.25):
    return AudioFitTask(audio_signal(tones_and_chirp(rate, seconds), rate, source="tones"))


def _video_task(frames=8, size=16, **kw):
    return VideoFitTask(video_signal(moving_pattern(frames, size), 25.0, source="pattern"), **kw)


def _trained(task, name, steps, lr, width=64):
    torch.manual_seed(0)
    model = build_model(name, task.in_features, task.out_features, hidden_features=width, hidden_layers=2,
                        hints=task.model_hints())
    result = fit(model, task, TrainConfig(steps=steps, lr=lr, log_every=steps, progress=False))
    return model.eval(), result.history[-1]


def test_each_family_reads_the_audio_hints():
    audio, video = _audio_task(), _video_task()
    assert audio.metric_name == "snr" and video.metric_name == "psnr"
    hints = audio.model_hints()
    assert build_model("siren", 1, 1, hints=hints).spec["options"] == {"first_omega_0": 3000.0}
    pe = build_model("relu_pe", 1, 1, hints=hints)
    assert pe.spec["options"] == {"sidelength": 1000} and pe.net[0].num_frequencies == 7  # floor(log2(1000 / 4))
    scale = build_model("rff", 1, 1, hints=hints).spec["options"]["scale"]  # 2 pi B, B ~ N(0, s^2): 3000 U(-1, 1)
    assert 2 * math.pi * scale == pytest.approx(3000 / math.sqrt(3))
    assert build_model("tanh", 1, 1, hints=hints).spec["options"] == {}
    video_hints = video.model_hints()
    assert build_model("siren", 3, 3, hints=video_hints).spec["options"] == {}


def test_render_frames_matches_the_full_grid(device):
    torch.manual_seed(0)
    model = build_model("siren", 3, 2, hidden_features=16, hidden_layers=1).to(device)
    full = render(model, (5, 6, 7))
    frames = dict(render_frames(model, (5, 6, 7), frames=[4, 1], chunk=10))
    assert sorted(frames) == [1, 4]
    for i, pred in frames.items():
        torch.testing.assert_close(pred, full[i])


def test_video_batches_draw_voxels_with_replacement():
    task = _video_task(frames=4, size=8, max_batch=50)
    seen = []
    model = lambda c: (seen.append(c), torch.zeros(len(c), 3))[1]  # noqa: E731  records the batch it is given
    loss_a = task.loss(model, 0, torch.Generator().manual_seed(1))["mse"][0]
    loss_b = task.loss(model, 0, torch.Generator().manual_seed(1))["mse"][0]
    assert seen[0].shape == (50, 3) and torch.equal(seen[0], seen[1]) and loss_a == loss_b
    on_grid = (task.coords[None] == seen[0][:, None]).all(-1).any(-1)  # every sample is a voxel of the video
    assert on_grid.all()


def test_audio_evaluate_is_snr_of_the_rendered_clip():
    task = _audio_task()
    model = build_model("siren", 1, 1, hidden_features=16, hidden_layers=1, first_omega_0=3000.0)
    got = task.evaluate(model)
    pred = render(model, (1000,))
    assert got["snr"] == pytest.approx(snr_db(pred, task.values))
    assert got["mse"] == pytest.approx(metrics.mse(pred, task.values))


def test_video_evaluate_is_mean_frame_psnr():
    task = _video_task(frames=4, size=8)
    model = build_model("siren", 3, 3, hidden_features=16, hidden_layers=1)
    pred = (render(model, (4, 8, 8)) + 1) / 2
    truth = (task.values.reshape(4, 8, 8, 3) + 1) / 2
    expected = np.mean([metrics.psnr(pred[i].clamp(0, 1), truth[i]) for i in range(4)])
    assert task.evaluate(model)["psnr"] == pytest.approx(expected)


def test_siren_fits_audio_where_relu_cannot():
    siren = _trained(_audio_task(), "siren", steps=100, lr=1e-4)[1]["snr"]
    relu = _trained(_audio_task(), "relu", steps=100, lr=1e-4)[1]["snr"]
    assert siren > relu + 10, (siren, relu)


def test_siren_fits_video_where_relu_cannot():
    siren = _trained(_video_task(), "siren", steps=100, lr=1e-3)[1]["psnr"]
    relu = _trained(_video_task(), "relu", steps=100, lr=1e-3)[1]["psnr"]
    assert siren > 30 and siren > relu + 10, (siren, relu)


def test_fit_audio_cli_outputs_and_render(tmp_path):
    rate = 16_000
    wavfile.write(tmp_path / "in.wav", rate, (tones_and_chirp(rate, 1.0) * 0.5 * 32767).astype(np.int16))
    out = tmp_path / "run"
    assert main(["fit", "audio", str(tmp_path / "in.wav"), "--steps", "2", "--out", str(out), *TINY]) == 0
    got_rate, pcm = wavfile.read(out / "reconstruction.wav")
    assert got_rate == rate and pcm.shape == (rate,)  # the input's rate and length
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert {"mse", "snr", "duration"} <= set(m) and m["rate"] == rate
    assert json.loads((out / "metrics.json").read_text())["steps"] == 2
    for name in ("audio.png", "snr.png", "checkpoint.pt", "config.json"):
        assert (out / name).is_file()
    assert json.loads((out / "config.json").read_text())["model"]["options"]["first_omega_0"] == 3000.0
    assert main(["render", str(out), "--rate", "8000", "--out", str(tmp_path / "half.wav")]) == 0
    half_rate, half = wavfile.read(tmp_path / "half.wav")
    assert half_rate == 8000 and half.shape == (8000,)  # round(16000 * 8000 / 16000): same duration


def test_fit_audio_stereo_channels(tmp_path):
    x = np.stack([tones_and_chirp(4000, 0.1)[:, 0], np.linspace(-0.5, 0.5, 400)], 1).astype(np.float32)
    wavfile.write(tmp_path / "st.wav", 4000, x)
    out = tmp_path / "run"
    assert main(["fit", "audio", str(tmp_path / "st.wav"), "--stereo", "channels", "--steps", "1", "--out", str(out),
                 *TINY]) == 0
    assert wavfile.read(out / "reconstruction.wav")[1].shape == (400, 2)


def test_fit_video_cli_mp4_plays_back_and_renders(tmp_path):
    np.save(tmp_path / "v.npy", (moving_pattern(16, 64) * 255).astype(np.uint8))
    out = tmp_path / "run"
    assert main(["fit", "video", str(tmp_path / "v.npy"), "--steps", "2", "--out", str(out), *TINY]) == 0
    video = iio.imread(out / "reconstruction.mp4", index=None)
    assert video.shape == (16, 64, 64, 3)
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert len(m["psnr_frames"]) == 16 and m["psnr_mean"] == pytest.approx(np.mean(m["psnr_frames"]))
    assert m["psnr_std"] == pytest.approx(np.std(m["psnr_frames"]))
    assert (out / "frames.png").is_file() and (out / "psnr.png").is_file()
    assert main(["render", str(out), "--size", "32", "--fps", "50", "--out", str(tmp_path / "r.mp4")]) == 0
    assert iio.imread(tmp_path / "r.mp4", index=None).shape == (32, 32, 32, 3)  # 16 * 50 / 25 frames
    assert iio.immeta(tmp_path / "r.mp4")["fps"] == pytest.approx(50.0)


def test_bad_media_inputs_are_one_line_errors(tmp_path, cli_error):
    wavfile.write(tmp_path / "empty.wav", 16_000, np.zeros(0, dtype=np.int16))
    (tmp_path / "text.wav").write_text("not audio")
    np.save(tmp_path / "zero.npy", np.zeros((0, 8, 8, 3), dtype=np.uint8))
    frames = tmp_path / "frames"
    frames.mkdir()
    iio.imwrite(frames / "0.png", np.zeros((8, 8), dtype=np.uint8))
    iio.imwrite(frames / "1.png", np.zeros((9, 8), dtype=np.uint8))
    out = ["--out", str(tmp_path / "o")]
    assert "0 samples" in cli_error(["fit", "audio", str(tmp_path / "empty.wav"), *out])
    assert "cannot read" in cli_error(["fit", "audio", str(tmp_path / "text.wav"), *out])
    assert "0 frames" in cli_error(["fit", "video", str(tmp_path / "zero.npy"), *out])
    assert "differ in size" in cli_error(["fit", "video", str(frames), *out])
    assert "not both" in cli_error(["fit", "audio", str(tmp_path / "text.wav"), "--demo", *out])
    np.save(tmp_path / "ok.npy", moving_pattern(2, 4))
    assert "--fraction" in cli_error(["fit", "video", str(tmp_path / "ok.npy"), "--fraction", "2", *out])


def test_render_rejects_options_of_another_kind(tmp_path, cli_error):
    wavfile.write(tmp_path / "in.wav", 4000, (tones_and_chirp(4000, 0.1) * 16000).astype(np.int16))
    run = tmp_path / "run"
    assert main(["fit", "audio", str(tmp_path / "in.wav"), "--steps", "1", "--out", str(run), *TINY]) == 0
    assert "not an option of rendering 'fit audio' checkpoints (they take --rate)" in cli_error(
        ["render", str(run), "--size", "8", "--out", str(tmp_path / "a.wav")])
    assert ".wav" in cli_error(["render", str(run), "--out", str(tmp_path / "a.mp4")])
    assert "positive" in cli_error(["render", str(run), "--rate", "0", "--out", str(tmp_path / "a.wav")])
