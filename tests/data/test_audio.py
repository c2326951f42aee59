import wave

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from helpers import tones_and_chirp
from siren.data.audio import audio_signal, demo_audio, load_audio, package_file, save_wav, to_float_audio
from siren.data.grid import grid
from siren.errors import SirenError

RAMP = np.array([-1.0, -0.5, 0.0, 0.25, 0.5])  # exactly representable in every format below


def _write_24bit(path, ints, rate):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(3)
        f.setframerate(rate)
        f.writeframes(b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints))


@pytest.mark.parametrize("fmt", ["uint8", "int16", "int24", "int32", "float32", "float64"])
def test_wav_formats_read_to_full_scale(tmp_path, fmt):
    path, rate = tmp_path / "a.wav", 11_025
    if fmt == "int24":
        _write_24bit(path, RAMP * 2 ** 23, rate)
    elif fmt == "uint8":
        wavfile.write(path, rate, (RAMP * 128 + 128).astype(np.uint8))
    elif fmt.startswith("int"):
        wavfile.write(path, rate, (RAMP * 2.0 ** (np.dtype(fmt).itemsize * 8 - 1)).astype(fmt))
    else:
        wavfile.write(path, rate, RAMP.astype(fmt))
    samples, got_rate = load_audio(path)
    assert got_rate == rate and samples.shape == (5, 1)
    np.testing.assert_array_equal(samples[:, 0], RAMP)


def test_stereo_mean_or_channels(tmp_path):
    left, right = np.linspace(-0.5, 0.5, 50), np.linspace(0.2, 0.4, 50)
    wavfile.write(tmp_path / "s.wav", 8000, np.stack([left, right], 1).astype(np.float32))
    mean, _ = load_audio(tmp_path / "s.wav")
    both, _ = load_audio(tmp_path / "s.wav", stereo="channels")
    np.testing.assert_allclose(mean[:, 0], (left + right) / 2, atol=1e-7)
    np.testing.assert_allclose(both, np.stack([left, right], 1), atol=1e-7)
    with pytest.raises(SirenError, match="stereo"):
        load_audio(tmp_path / "s.wav", stereo="left")


def test_signal_scales_to_unit_peak_and_wav_restores_loudness_and_rate(tmp_path):
    x = 0.3 * tones_and_chirp(rate=8000, seconds=0.25)
    sig = audio_signal(x, 8000, source="x")
    assert sig.kind == "audio" and sig.shape == (2000,) and sig.meta["rate"] == 8000
    assert sig.meta["scale"] == pytest.approx(np.abs(x).max())
    assert sig.values.abs().max().item() == pytest.approx(1.0)
    torch.testing.assert_close(sig.coords(), grid((2000,)))  # time in [-1, 1], endpoints included
    save_wav(tmp_path / "out.wav", sig.values, 8000, sig.meta["scale"])
    back, rate = load_audio(tmp_path / "out.wav")
    assert rate == 8000 and back.shape == x.shape
    np.testing.assert_allclose(back, x, atol=1.0 / 32767)  # 16-bit PCM quantisation


def test_save_wav_clips_to_full_scale(tmp_path):
    save_wav(tmp_path / "c.wav", np.array([[-3.0], [0.5], [3.0]]), 100)
    _, pcm = wavfile.read(tmp_path / "c.wav")
    assert pcm.dtype == np.int16 and pcm.tolist() == [-32767, 16384, 32767]


def test_tones_and_chirp_spectrum():
    x = tones_and_chirp(rate=16_000, seconds=1.0)[:, 0]
    assert x.shape == (16_000,) and np.abs(x).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(x))  # 1 Hz bins for a 1 s clip
    for f in (262, 330, 392):
        assert spectrum[f - 2:f + 3].max() > 10 * np.median(spectrum[100:2200])
    assert spectrum[2500:].max() < 1e-2 * spectrum.max()  # the chirp stops at rate / 8 = 2 kHz


def test_float_conversion_rejects_unknown_types():
    with pytest.raises(SirenError, match="unsupported"):
        to_float_audio(np.zeros(4, dtype=np.uint16))
    with pytest.raises(SirenError, match="shape"):
        to_float_audio(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("case,match", [("empty", "0 samples"), ("text", "cannot read"), ("silent", "silent"),
                                        ("missing", "not found"), ("nan", "NaN")])
def test_bad_audio(tmp_path, case, match):
    path = tmp_path / "bad.wav"
    if case == "empty":
        wavfile.write(path, 16_000, np.zeros(0, dtype=np.int16))
    elif case == "text":
        path.write_text("this is not a sound")
    elif case == "silent":
        wavfile.write(path, 16_000, np.zeros(100, dtype=np.int16))
    elif case == "nan":
        wavfile.write(path, 16_000, np.array([0.1, np.nan, 0.2], dtype=np.float32))
    with pytest.raises(SirenError, match=match):
        samples, rate = load_audio(path)
        audio_signal(samples, rate, source=str(path))


def test_flac_through_soundfile(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    x = np.stack([np.sin(np.arange(400) / 7.0), np.cos(np.arange(400) / 5.0)], 1) * 0.5
    soundfile.write(tmp_path / "a.flac", x, 22_050, subtype="PCM_16")
    samples, rate = load_audio(tmp_path / "a.flac", stereo="channels")
    assert rate == 22_050
    np.testing.assert_allclose(samples, x, atol=1.0 / 32767)


def test_package_file_finds_data_without_importing(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('importing fakepkg is broken')\n")
    (pkg / "data" / "clip.wav").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert package_file("fakepkg", "data/clip.wav") == pkg / "data" / "clip.wav"
    assert package_file("fakepkg", "data/other.wav") is None
    assert package_file("no_such_package_here", "x") is None


def test_demo_audio_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("siren.data.audio.DEMO", ("no_such_package_here", "a.wav"))
    with pytest.raises(SirenError, match="siren-inr\\[demo\\]"):
        demo_audio()
