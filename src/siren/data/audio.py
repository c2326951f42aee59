"""Audio in and out: files <-> float samples in full-scale units <-> Signal (time in [-1, 1], amplitude in [-1, 1]).

A clip of N samples at rate r becomes a Signal of shape (N,) on the grid t_i = -1 + 2 i / (N - 1); its values are
the samples divided by their peak |x| (`scale`, kept in meta with the rate) so `save_wav(..., scale)` restores the
original loudness.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from .signal import Signal

STEREO = ("mean", "channels")
DEMO = ("pysptk", "example_audio_data/arctic_a0007.wav")  # 4 s of CMU ARCTIC speech at 16 kHz in pysptk's package

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")        # read by `load_audio` (all but WAV through soundfile)


def load_audio(path: str | Path, stereo: str = "mean") -> tuple[np.ndarray, int]:
    """Read an audio file -> (samples (N, C) float64 in full-scale units [-1, 1], sample rate in Hz).

    WAV (8-bit unsigned, 16/24/32-bit int, 32/64-bit float, any rate) is read by scipy; other formats (FLAC,
    OGG, ...) by soundfile (extra `media`). stereo: "mean" averages the channels into one, "channels" keeps them.
    """
    if stereo not in STEREO:
        raise SirenError(f"unknown stereo mode {stereo!r} (choose {' or '.join(STEREO)})")
    path = Path(path)
    if not path.is_file():
        raise SirenError(f"audio file not found: {path} (check the path)")
    rate, samples = _read_wav(path) if path.suffix.lower() == ".wav" else _read_soundfile(path)
    samples = to_float_audio(samples, name=str(path))
    if samples.shape[0] < 2:
        raise SirenError(f"{path} has {samples.shape[0]} samples; nothing to fit (use a longer recording)")
    if stereo == "mean":
        samples = samples.mean(axis=1, keepdims=True)
    return samples, int(rate)


def _read_wav(path: Path) -> tuple[int, np.ndarray]:
    from scipy.io import wavfile
    try:
        return wavfile.read(path)
    except Exception as e:  # scipy raises ValueError, EOFError, struct.error ... on non-WAV data
        raise SirenError(f"cannot read {path} as WAV ({type(e).__name__}: {error_summary(e)})")


def _read_soundfile(path: Path) -> tuple[int, np.ndarray]:
    if importlib.util.find_spec("soundfile") is None:
        raise SirenError(f"reading {path.suffix} files needs soundfile (pip install 'siren-inr[media]', or convert to WAV)")
    import soundfile
    try:
        samples, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except Exception as e:  # soundfile.LibsndfileError and friends
        raise SirenError(f"cannot read {path} as audio ({type(e).__name__}: {error_summary(e)})")
    return rate, samples


def error_summary(e: Exception) -> str:
    """The first line of an exception's message, at most 80 characters, for a one-line error."""
    return str(e).splitlines()[0][:80] if str(e) else "unknown format"


def to_float_audio(samples: np.ndarray, name: str = "audio") -> np.ndarray:
    """Samples (N,) or (N, C) of any WAV dtype -> (N, C) float64 in full-scale units [-1, 1].

    uint8: (x - 128) / 128; int16 / int32: x / 2^(bits - 1) (scipy left-aligns 24-bit data in int32); float: as is.
    """
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise SirenError(f"{name} has sample array shape {samples.shape} (expected N or N x channels)")
    if samples.dtype == np.uint8:
        return (samples.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.signedinteger):
        return samples.astype(np.float64) / 2.0 ** (8 * samples.dtype.itemsize - 1)
    if np.issubdtype(samples.dtype, np.floating):
        return samples.astype(np.float64)
    raise SirenError(f"{name} has unsupported sample type {samples.dtype}")


def package_file(package: str, relative: str) -> Path | None:
    """Path of a data file inside an installed package, found without importing the package; None if absent."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / relative if locations else None
    return path if path is not None and path.is_file() else None


def demo_audio() -> Path:
    """Path of the demo clip shipped inside the pysptk package (extra `demo`)."""
    path = package_file(*DEMO)
    if path is None:
        raise SirenError("the audio demo needs the pysptk package (pip install 'siren-inr[demo]', or give a WAV file)")
    return path


def audio_signal(samples: np.ndarray, rate: int, **meta) -> Signal:
    """(N, C) full-scale samples at `rate` Hz -> Signal of shape (N,), values samples / scale in [-1, 1] (float32).

    meta gets rate and scale = max |samples| (the peak, so the loudness can be restored).
    """
    scale = float(np.max(np.abs(samples)))
    if not np.isfinite(scale):
        raise SirenError(f"{meta.get('source', 'audio')} contains NaN or infinite samples (fix the file)")
    if scale == 0.0:
        raise SirenError(f"{meta.get('source', 'audio')} is silent: every sample is 0 (nothing to fit)")
    return Signal(torch.from_numpy(samples / scale).float(), "audio", {"rate": int(rate), "scale": scale, **meta})


def save_wav(path: str | Path, values, rate: int, scale: float = 1.0) -> None:
    """Write values (N,) or (N, C) in [-1, 1] (array or tensor) times `scale` as 16-bit PCM WAV at `rate` Hz
    (clipped to full scale). One float64 copy of the values, worked on in place, and the 16-bit result."""
    from scipy.io import wavfile
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    pcm = np.array(values, dtype=np.float64)
    pcm *= scale
    np.clip(pcm, -1.0, 1.0, out=pcm)
    pcm *= 32767.0
    np.round(pcm, out=pcm)
    wavfile.write(path, int(rate), pcm.astype(np.int16))
