"""`siren fit audio`: fit a sound clip with time as the only coordinate, and render it at any sample rate.

A clip of N samples becomes a Signal of shape (N,) on t in [-1, 1], amplitude divided by its peak (kept, so the
output has the input's loudness). SIREN's first omega_0 is 3000 (the paper's). Metrics: MSE and
SNR = 10 log10(sum x^2 / sum (x - y)^2) dB, both on the amplitude scaled to [-1, 1]. Files: reconstruction.wav,
audio.png (waveforms, residual, spectrograms), snr.png.

Cost that follows the work: a clip of at most FULL_BATCH samples is fitted full batch (every sample every step, the
paper's), a longer one on BATCH samples a step drawn at random without replacement (`default_batch`; --batch
overrides). Log steps score the fixed subset of `SignalFitTask.eval_prediction` (every sample of a clip of at most
EVAL_POINTS); the final metrics are exact over every sample, accumulated in blocks (`siren.metrics.snr_metrics`), and
audio.png is drawn at display resolution (`siren.viz.signals.audio_figure`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import viz
from ..metrics import snr_metrics
from ..data.audio import STEREO, audio_signal, demo_audio, load_audio, save_wav
from ..errors import SirenError
from ..options import option
from ..data.signal import Signal, render_bytes
from ..rendering import render
from ..runtime import require_memory, require_points
from ..viz.signals import audio_figure
from .base import Output, register
from .fit import SignalFitTask, positive, source_path

AUDIO_FIRST_OMEGA = 3000.0  # the paper's first-layer omega_0 for audio (time in [-1, 1])
FULL_BATCH = 262_144        # clips of at most this many samples train full batch by default (5.9 s at 44.1 kHz)
BATCH = 16_384              # samples a step of longer clips by default


@dataclass
class AudioConfig:
    path: str | None = option(None, "WAV file (8/16/24/32-bit int or float, any rate); FLAC, OGG, ... with the "
                              "media extra", positional=True)
    demo: bool = option(False, "4 s of speech shipped in pysptk (extra demo)")
    stereo: str = option("mean", "mean: average the channels into one; channels: fit each as an output",
                         choices=list(STEREO))
    batch: int | None = option(None, "samples per step, drawn at random without replacement (default: every sample, "
                               "the paper's full batch, for clips of up to 262,144 samples, else 16,384; 0: every "
                               "sample)")


def default_batch(samples: int) -> int:
    """Samples per step of the defaults: every sample (full batch) up to FULL_BATCH, else BATCH. FULL_BATCH is the
    full-batch limit clips had before, so those clips train and score as they did; a step's cost is linear in its
    batch (measurements: docs/audio-video.md)."""
    return samples if samples <= FULL_BATCH else BATCH


@dataclass
class AudioRender:
    """`siren render` of an audio fit."""
    rate: int | None = option(None, "sample rate of the output in Hz (default as trained; the clip keeps its "
                              "duration)")


@register
class AudioFitTask(SignalFitTask):
    """Fit an audio Signal by MSE; metric SNR (dB)."""

    name = "fit audio"
    help = "fit a sound file or the demo speech clip (siren: first omega_0 3000)"
    Config = AudioConfig
    train_defaults = {"steps": 1000}
    metric_name, goals = "snr", {"snr": "max", "mse": "min"}
    Render = AudioRender

    def __init__(self, signal, max_batch: int | None = None, **kwargs):
        """max_batch: samples per step (None: `default_batch`; 0: every sample); kwargs go to SignalFitTask."""
        n = signal.shape[0]
        batch = default_batch(n) if max_batch is None else max_batch or n
        require_points(min(batch, n), "batch", "samples a step")
        super().__init__(signal, max_batch=batch, **kwargs)

    @classmethod
    def from_config(cls, config: AudioConfig, shard: tuple[int, int] = (0, 1)):
        if config.batch is not None and config.batch < 0:
            raise SirenError(f"must be 0 (every sample) or positive, got {config.batch}", field="batch")
        if isinstance(config.path, Signal):
            return cls(config.path, max_batch=config.batch, shard=shard)
        path = source_path(config.path, config.demo, demo_audio, "sound")
        samples, rate = load_audio(path, stereo=config.stereo)
        signal = audio_signal(samples, rate, source=str(path))
        del samples
        return cls(signal, max_batch=config.batch, shard=shard)

    def model_hints(self) -> dict:
        """A first layer that spans AUDIO_FIRST_OMEGA (3000; sine first layer omega_0 and Fourier-feature
        bandwidth alike), and the clip's length in samples."""
        return {"first_omega_0": AUDIO_FIRST_OMEGA, "bandwidth": AUDIO_FIRST_OMEGA,
                "sidelength": self.signal.shape[0]}

    def evaluate(self, model) -> dict:
        """MSE and SNR on the log-step samples (`eval_prediction`: every sample of a clip of at most EVAL_POINTS,
        else the same fixed EVAL_POINTS of them at every log step)."""
        return snr_metrics(*(a.cpu().numpy() for a in self.eval_prediction(model)))

    def write_outputs(self, model, out_dir: Path, history: list):
        """Metrics over every sample. Arrays of the clip's length: the rendered clip (float32), and while the .wav is
        written one float64 copy of it and the 16-bit result; the metrics and audio.png read it a block at a time."""
        out_dir, meta = Path(out_dir), self.signal.meta
        pred, truth = render(model, self.signal.shape).cpu().numpy(), self.values.cpu().numpy()
        result = {**snr_metrics(pred, truth), "rate": meta["rate"], "samples": len(truth),
                  "duration": len(truth) / meta["rate"]}
        save_wav(out_dir / "reconstruction.wav", pred, meta["rate"], meta["scale"])
        audio_figure(truth, pred, meta["rate"], out_dir / "audio.png")
        viz.curve(history, "snr", out_dir / "snr.png", ylabel="SNR (dB)")
        return result, [Output("reconstruction.wav", "audio", f"the fit at {meta['rate']} Hz, {result['snr']:.1f} dB SNR"),
                        Output("audio.png", "figure", "waveforms, residual and spectrograms of truth and fit"),
                        Output("snr.png", "figure", "SNR (dB) against training step")]

    @classmethod
    def render(cls, model, meta, out, options: AudioRender) -> None:
        """A .wav at `options.rate` Hz (default the original) of the same duration: N' = round(N rate / rate_0)
        samples over the trained time axis [-1, 1]."""
        out = Path(out)
        if out.suffix.lower() != ".wav":
            raise SirenError(f"audio renders to a .wav file, got {out.name} (pass --out NAME.wav)")
        new_rate = int(positive(options.rate, meta["rate"], "rate"))
        samples = lambda rate: max(2, round(meta["shape"][0] * rate / meta["rate"]))   # noqa: E731
        require_memory(lambda rate: render_bytes((samples(rate),), meta["channels"]), new_rate,
                       f"{samples(new_rate)} samples", "rate")
        save_wav(out, render(model, (samples(new_rate),)), new_rate, meta["scale"])

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        from scipy.io import wavfile
        t = np.arange(400) / 4000.0
        wavfile.write(folder / "tone.wav", 4000, (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16))
        return [str(folder / "tone.wav")]
