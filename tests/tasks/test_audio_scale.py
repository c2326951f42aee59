"""Audio fits whose cost follows the work (issue 25): batches, log-step metrics, exact final metrics, figures."""
import time
import tracemalloc

import numpy as np
import pytest
import torch
from scipy.io import wavfile
from scipy.signal import spectrogram

from siren import metrics
from helpers import snr_db, tones_and_chirp
from siren.data.audio import audio_signal
from siren.models import build_model
from siren.rendering import render
from siren.tasks.fit import EVAL_POINTS
from siren.metrics import error_sums, snr_metrics
from siren.tasks.fit_audio import BATCH, FULL_BATCH, AudioConfig, AudioFitTask, default_batch
from siren.viz.signals import (ENVELOPE_COLUMNS, SPECTROGRAM_COLUMNS, _Residual, audio_figure, envelope,
                               spectrogram_columns)


def _task(samples, rate=16_000, **kw):
    return AudioFitTask(audio_signal(tones_and_chirp(rate, samples / rate), rate, source="tones"), **kw)


def _tiny_model():
    return build_model("siren", 1, 1, hidden_features=8, hidden_layers=1, first_omega_0=3000.0).eval()


def _batch_seen(task):
    seen = []
    model = lambda c: (seen.append(c), torch.zeros(len(c), 1))[1]  # noqa: E731  records the batch it is given
    task.loss(model, 0, torch.Generator().manual_seed(0))
    return seen[0]


def test_default_batch_is_the_whole_of_a_short_clip_and_fixed_for_a_long_one():
    assert default_batch(1000) == 1000 and default_batch(FULL_BATCH) == FULL_BATCH
    assert default_batch(FULL_BATCH + 1) == BATCH < FULL_BATCH and default_batch(26_460_000) == BATCH
    assert _task(4000).max_batch == 4000
    assert _batch_seen(_task(4000)).shape == (4000, 1)                 # full batch: every sample, in order
    long = _task(FULL_BATCH + 1)
    batch = _batch_seen(long)
    assert long.max_batch == BATCH and batch.shape == (BATCH, 1) and len(batch.unique()) == BATCH


def test_batch_option(tmp_path, cli_error):
    wavfile.write(tmp_path / "in.wav", 4000, (tones_and_chirp(4000, 0.25) * 16000).astype(np.int16))
    path = str(tmp_path / "in.wav")
    assert AudioFitTask.from_config(AudioConfig(path=path)).max_batch == 1000
    assert AudioFitTask.from_config(AudioConfig(path=path, batch=0)).max_batch == 1000    # 0: every sample
    task = AudioFitTask.from_config(AudioConfig(path=path, batch=100))
    batch = _batch_seen(task)
    assert task.max_batch == 100 and batch.shape == (100, 1) and len(batch.unique()) == 100
    assert (task.coords[None, :, 0] == batch).any(-1).all()            # samples of the clip's grid
    assert AudioFitTask(task.signal, max_batch=0).max_batch == 1000
    error = cli_error(["fit", "audio", path, "--batch", "-1", "--out", str(tmp_path / "o")])
    assert "batch" in error and "-1" in error


def test_evaluate_scores_the_fixed_subset_of_a_long_clip():
    task, model = _task(EVAL_POINTS + 5000), _tiny_model()
    assert len(task.eval_index) == EVAL_POINTS
    pred = render(model, task.signal.shape)[task.eval_index]
    truth = task.values[task.eval_index]
    got = task.evaluate(model)
    assert got["mse"] == pytest.approx(metrics.mse(pred, truth), rel=1e-9)
    assert got["snr"] == pytest.approx(snr_db(pred, truth), abs=1e-9)
    short = _task(1000)                                                # every sample, as metrics.mse computes it
    pred = render(model, (1000,))
    assert short.evaluate(model) == {"mse": metrics.mse(pred, short.values), "snr": snr_db(pred, short.values)}


def test_final_metrics_are_exact_over_every_sample(tmp_path):
    task, model = _task(5000), _tiny_model()
    result, outputs = task.write_outputs(model, tmp_path, [{"step": 1, "snr": 0.0}, {"step": 2, "snr": 1.0}])
    pred = render(model, task.signal.shape)
    assert result["mse"] == metrics.mse(pred, task.values)            # one chunk: the same sums, bit for bit
    assert result["snr"] == snr_db(pred, task.values)
    assert result["samples"] == 5000
    assert {o.path for o in outputs} == {"reconstruction.wav", "audio.png", "snr.png"}
    assert all((tmp_path / o.path).is_file() for o in outputs)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((10_001, 2)).astype(np.float32), rng.standard_normal((10_001, 2)).astype(np.float32)
    noise, energy = error_sums(a, b, chunk=999)                        # in chunks: the same up to rounding
    assert noise == pytest.approx(np.sum((a.astype(np.float64) - b) ** 2), rel=1e-12)
    assert energy == pytest.approx(np.sum(b.astype(np.float64) ** 2), rel=1e-12)
    got = snr_metrics(a, b, chunk=999)
    assert got["mse"] == pytest.approx(metrics.mse(a, b), rel=1e-12)
    assert got["snr"] == pytest.approx(snr_db(a, b), abs=1e-10)
    assert snr_metrics(b, b)["snr"] == float("inf")


def test_envelope_has_the_min_and_max_of_each_column():
    n, columns = 441_000, 2000
    t = np.arange(n) / 44_100
    sine = 0.7 * np.sin(2 * np.pi * 1000 * t)                          # 10 periods per column
    edges, lo, hi = envelope(sine, columns, block=10_000)
    assert len(lo) == len(hi) == columns and edges[0] == 0 and edges[-1] == n
    assert np.allclose(lo, -0.7, atol=2e-3) and np.allclose(hi, 0.7, atol=2e-3)
    ramp = np.arange(10_007, dtype=np.float32)
    edges, lo, hi = envelope(np.stack([ramp, ramp + 2], 1), 100, block=333)   # channels averaged: ramp + 1
    assert np.array_equal(lo, edges[:-1] + 1) and np.array_equal(hi, edges[1:])
    assert np.all(np.diff(edges) >= 100)
    assert len(envelope(ramp[:10], 2000)[1]) == 10                     # at most one column per sample


def test_long_spectrogram_averages_consecutive_windows():
    x = np.random.default_rng(0).standard_normal(109 * 448 + 512 + 100)
    f, t, s = spectrogram(x, fs=8000, nperseg=512)                     # 110 windows, hop 448
    f2, t2, s2 = spectrogram_columns(x[:, None], 8000, 512, columns=10, block=3000)
    g = 11
    assert np.array_equal(f, f2) and s2.shape == (len(f), 10)
    np.testing.assert_allclose(s2, s.reshape(len(f), 10, g).mean(-1), rtol=1e-10)
    np.testing.assert_allclose(t2, t.reshape(10, g).mean(-1), rtol=1e-12)
    f3, t3, s3 = spectrogram_columns(x, 8000, 512, columns=110)        # few enough windows: scipy's own
    assert np.array_equal(s3, s) and np.array_equal(t3, t)


def test_figure_of_a_ten_minute_clip_is_quick_and_display_sized(tmp_path):
    n, rate = 600 * 44_100, 44_100
    truth = np.sin(np.linspace(0.0, 2e5, n, dtype=np.float32))[:, None]
    pred = truth * np.float32(0.9)
    start = time.perf_counter()
    audio_figure(truth, pred, rate, tmp_path / "audio.png")
    seconds = time.perf_counter() - start
    assert (tmp_path / "audio.png").stat().st_size > 10_000
    assert seconds < 30, seconds
    tracemalloc.start()                                                # what the figure computes from the clip
    edges, lo, hi = envelope(_Residual(truth, pred))
    f, t, s = spectrogram_columns(pred, rate, 512)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(lo) == ENVELOPE_COLUMNS and len(f) == 257 and SPECTROGRAM_COLUMNS / 2 < len(t) <= SPECTROGRAM_COLUMNS
    assert s.shape == (len(f), len(t)) and np.all(np.diff(t) > 0) and t[-1] < 600
    assert np.allclose(hi, 0.1, atol=1e-3) and np.allclose(lo, -0.1, atol=1e-3)
    assert peak < 32e6 < truth.nbytes, peak                            # display-sized, not clip-sized
