"""Test-only signals and reference metrics, independent of siren's own metric code (imported by tests as
`helpers`: pytest puts this folder on sys.path with the root conftest.py; benchmarks/audio_video.py and
benchmarks/time_to_quality.py load the same clip)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def tones_and_chirp(rate: int = 16_000, seconds: float = 1.0) -> np.ndarray:
    """A synthetic test clip -> (N, 1) float64 in [-1, 1], N = round(rate * seconds): three tones (a C major chord,
    262 / 330 / 392 Hz) plus a linear chirp sweeping 200 Hz -> rate / 8 (2 kHz at 16 kHz) over the clip."""
    t = np.arange(round(rate * seconds)) / rate
    tones = sum(a * np.sin(2.0 * np.pi * f * t) for a, f in ((0.25, 261.63), (0.2, 329.63), (0.15, 392.0)))
    f0, f1 = 200.0, rate / 8.0
    chirp = 0.3 * np.sin(2.0 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2.0 * seconds)))
    return (tones + chirp)[:, None]


def _float64(a) -> np.ndarray:
    return np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a, dtype=np.float64)


def snr_db(pred, target) -> float:
    """10 log10(sum target^2 / sum (pred - target)^2) in dB, over every entry (float64)."""
    pred, target = _float64(pred), _float64(target)
    noise = float(np.sum((pred - target) ** 2))
    return float("inf") if noise == 0 else float(10.0 * np.log10(float(np.sum(target ** 2)) / noise))


def _nearest(a, b):
    """For each point of a (N, 3): (distance to, index of) its nearest point of b (M, 3)."""
    return cKDTree(_float64(b)).query(_float64(a))


def chamfer_distance(a, b) -> float:
    """(mean_i min_j |a_i - b_j| + mean_j min_i |b_j - a_i|) / 2, in the points' units."""
    return float((_nearest(a, b)[0].mean() + _nearest(b, a)[0].mean()) / 2)


def normal_consistency(a, na, b, nb) -> float:
    """(mean_i |na_i . nb_nn(i)| + mean_j |nb_j . na_nn(j)|) / 2 with unit normals, nn the nearest point in the
    other set."""
    na, nb = (_float64(n) / np.linalg.norm(_float64(n), axis=1, keepdims=True) for n in (na, nb))
    i_ab, i_ba = _nearest(a, b)[1], _nearest(b, a)[1]
    return float((np.abs(np.sum(na * nb[i_ab], axis=1)).mean() + np.abs(np.sum(nb * na[i_ba], axis=1)).mean()) / 2)


def f_score(a, b, threshold: float) -> float:
    """2 P R / (P + R): P the fraction of a within threshold of b, R that of b within threshold of a."""
    p, r = np.mean(_nearest(a, b)[0] <= threshold), np.mean(_nearest(b, a)[0] <= threshold)
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0
