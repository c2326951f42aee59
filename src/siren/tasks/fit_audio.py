"""`siren fit audio`: fit a sound clip with time as the only coordinate, and render it at any sample rate.

A clip of N samples becomes a Signal of shape (N,) on t in [-1, 1], amplitude divided by its peak (kept, so the
output has the input's loudness). SIREN's first omega_0 is 3000 (the paper's). Metrics: MSE and
SNR = 10 log10(sum x^2 / sum (x - y)^2) dB, both on the amplitude scaled to [-1, 1]. Files: reconstruction.wav,
audio.png (waveforms, residual, spectrograms), snr.png.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import metrics, viz
from ..data.audio import STEREO, audio_signal, demo_audio, load_audio, save_wav
from ..errors import SirenError
from ..options import option
from ..data.signal import render_bytes
from ..rendering import render
from ..runtime import require_memory
from ..viz.signals import audio_figure
from .base import Output, register
from .fit import SignalFitTask, positive, source_path

AUDIO_FIRST_OMEGA = 3000.0  # the paper's first-layer omega_0 for audio (time in [-1, 1])


@dataclass
class AudioConfig:
    path: str | None = option(None, "WAV file (8/16/24/32-bit int or float, any rate); FLAC, OGG, ... with the "
                              "media extra", positional=True)
    demo: bool = option(False, "4 s of speech shipped in pysptk (extra demo)")
    stereo: str = option("mean", "mean: average the channels into one; channels: fit each as an output",
                         choices=list(STEREO))


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

    @classmethod
    def from_config(cls, config: AudioConfig, shard: tuple[int, int] = (0, 1)):
        path = source_path(config.path, config.demo, demo_audio, "sound")
        samples, rate = load_audio(path, stereo=config.stereo)
        return cls(audio_signal(samples, rate, source=str(path)), shard=shard)

    def model_hints(self) -> dict:
        """A first layer that spans AUDIO_FIRST_OMEGA (3000; sine first layer omega_0 and Fourier-feature
        bandwidth alike), and the clip's length in samples."""
        return {"first_frequency": AUDIO_FIRST_OMEGA, "bandwidth": AUDIO_FIRST_OMEGA,
                "sidelength": self.signal.shape[0]}

    def evaluate(self, model) -> dict:
        pred = render(model, self.signal.shape)
        return {"mse": metrics.mse(pred, self.values), "snr": metrics.snr_db(pred, self.values)}

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir, meta = Path(out_dir), self.signal.meta
        pred, truth = render(model, self.signal.shape).cpu().numpy(), self.values.cpu().numpy()
        save_wav(out_dir / "reconstruction.wav", pred, meta["rate"], meta["scale"])
        audio_figure(truth, pred, meta["rate"], out_dir / "audio.png")
        viz.curve(history, "snr", out_dir / "snr.png", ylabel="SNR (dB)")
        result = {"mse": metrics.mse(pred, truth), "snr": metrics.snr_db(pred, truth), "rate": meta["rate"],
                  "samples": len(truth), "duration": len(truth) / meta["rate"]}
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
