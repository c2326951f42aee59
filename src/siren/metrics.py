"""Quality metrics. Images are compared on [0, 1]."""
from __future__ import annotations

import math

import numpy as np
import torch

from .neighbours import PointIndex, xyz


def mse(pred, target) -> float:
    """Mean squared error of two arrays/tensors of the same shape."""
    pred, target = _np(pred), _np(target)
    return float(np.mean((pred - target) ** 2))


def relative_l2(pred, truth) -> float:
    """Relative L2 error ||pred - truth|| / ||truth|| of two arrays of one shape (any, real or complex; norms over
    all entries, in their dtype); ||pred - truth|| itself when truth is all 0."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    ref = float(np.linalg.norm(truth))
    return float(np.linalg.norm(pred - truth)) / (ref if ref > 0 else 1.0)


def psnr(pred, target, data_range: float = 1.0) -> float:
    """10 log10(range^2 / MSE) in dB (inf when equal)."""
    return mse_to_psnr(mse(pred, target), data_range)


def mse_to_psnr(err: float, data_range: float = 1.0) -> float:
    """The PSNR (dB) of a mean squared error: 10 log10(range^2 / err) (inf for 0)."""
    return float("inf") if err == 0 else float(10.0 * np.log10(data_range ** 2 / err))


def ssim(pred, target, data_range: float = 1.0, band: int = 512) -> float:
    """Structural similarity of (H, W) or (H, W, C) images (scikit-image, 7 x 7 uniform window, channels
    averaged); NaN when a side is shorter than 3 pixels (smaller than the smallest SSIM window). Images taller than
    `band` rows are scored in bands of `band` rows, each read with the window's half-width of rows above and below:
    the same SSIM map, cropped by the half-width at the image's borders as scikit-image does, and the same mean,
    with memory bounded by the band rather than the image."""
    from skimage.metrics import structural_similarity
    pred, target = _np(pred), _np(target)
    if min(pred.shape[:2]) < 3:
        return float("nan")
    if pred.ndim == 3 and pred.shape[-1] == 1:
        pred, target = pred[..., 0], target[..., 0]
    win = max(3, min(7, *(s if s % 2 else s - 1 for s in pred.shape[:2])))
    kw = dict(data_range=data_range, channel_axis=-1 if pred.ndim == 3 else None, win_size=win)
    h, pad = pred.shape[0], (win - 1) // 2
    if h <= band:
        return float(structural_similarity(pred, target, **kw))
    total, count = 0.0, 0
    for start in range(pad, h - pad, band):
        stop, lo = min(start + band, h - pad), start - pad
        hi = stop + pad
        inner = structural_similarity(pred[lo:hi], target[lo:hi], full=True, **kw)[1][pad:pad + stop - start,
                                                                                       pad:pred.shape[1] - pad]
        total, count = total + float(inner.sum(dtype=np.float64)), count + inner.size
    return total / count


def to_unit(values: torch.Tensor) -> torch.Tensor:
    """A signal in [-1, 1] -> [0, 1], clipped (how images and videos are stored and scored)."""
    return ((values + 1.0) / 2.0).clamp(0.0, 1.0)


def unit_psnr(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR (dB) of two signals in [-1, 1], compared on [0, 1] after clipping (`to_unit`)."""
    return psnr(to_unit(pred), to_unit(truth))


def error_sums(pred, truth, chunk: int | None = None) -> tuple[float, float]:
    """(sum (pred - truth)^2, sum truth^2) over every entry of two (N, ...) arrays or tensors, in float64 `chunk`
    rows at a time (default 2^20 rows: no float64 copy of a whole long signal; one chunk gives exactly the sum of
    `mse`)."""
    noise, energy, chunk = 0.0, 0.0, chunk or 1 << 20
    for start in range(0, len(truth), chunk):
        p, t = _np(pred[start:start + chunk]), _np(truth[start:start + chunk])
        noise, energy = noise + float(np.sum((p - t) ** 2)), energy + float(np.sum(t ** 2))
    return noise, energy


def snr_metrics(pred, truth, chunk: int | None = None) -> dict:
    """{"mse": mean (pred - truth)^2, "snr": 10 log10(sum truth^2 / sum (pred - truth)^2) dB} over every entry
    (`error_sums`)."""
    noise, energy = error_sums(pred, truth, chunk)
    return {"mse": noise / math.prod(truth.shape),
            "snr": float("inf") if noise == 0 else float(10.0 * np.log10(energy / noise))}


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


class SurfaceReference:
    """Reference surface points (M, 3) with optional normals (M, 3), their bounding-box diagonal D and a
    `siren.neighbours.PointIndex` built on first use, so that scoring several meshes indexes the points once."""

    def __init__(self, points, normals=None):
        self.points = xyz(points)
        self.normals = None if normals is None else _unit_rows(normals)
        self.diagonal = float(np.linalg.norm(self.points.max(axis=0) - self.points.min(axis=0)))
        self._index = None

    @property
    def index(self) -> PointIndex:
        if self._index is None:
            self._index = PointIndex(self.points)
        return self._index


def mesh_metrics(mesh, reference, reference_normals=None, samples: int = 100_000, seed: int = 0,
                 threshold: float = 0.01) -> dict:
    """A mesh (trimesh.Trimesh) against a reference surface, in the same units: a `SurfaceReference`, or points
    (M, 3) with optional normals. The mesh is sampled at `samples` area-uniform points (seeded) with their face
    normals. Distances are in units of D, the reference's bounding-box diagonal: {"chamfer": Chamfer distance / D,
    "normal_consistency": (NaN without reference normals), "f_score": F-score at threshold * D} (chamfer 0.001 =
    0.1% of the diagonal). Exact: one nearest-neighbour query per direction serves all three."""
    import trimesh

    from .errors import SirenError
    if len(mesh.faces) == 0 or mesh.area <= 0:
        raise SirenError("mesh_metrics: the mesh has no faces (nothing to sample)")
    ref = reference if isinstance(reference, SurfaceReference) else SurfaceReference(reference, reference_normals)
    points, face = trimesh.sample.sample_surface(mesh, samples, seed=seed)
    pairs = _Pairs(points, ref.points, index_b=ref.index)
    consistency = float("nan") if ref.normals is None else pairs.normal_consistency(mesh.face_normals[face],
                                                                                      ref.normals)
    return {"chamfer": pairs.chamfer() / ref.diagonal, "normal_consistency": consistency,
            "f_score": pairs.f_score(threshold * ref.diagonal)}


class _Pairs:
    """The nearest neighbours of point sets a (N, 3) in b (M, 3) and of b in a, one query each way."""

    def __init__(self, a, b, index_b=None):
        index_a, index_b = PointIndex(a), PointIndex(b) if index_b is None else index_b
        self.d_ab, self.i_ab = index_b.query(index_a.points)
        self.d_ba, self.i_ba = index_a.query(index_b.points)

    def chamfer(self) -> float:
        return float((self.d_ab.mean() + self.d_ba.mean()) / 2)

    def normal_consistency(self, na, nb) -> float:
        na, nb = _unit_rows(na), _unit_rows(nb)
        return float((np.abs(np.sum(na * nb[self.i_ab], axis=1)).mean()
                      + np.abs(np.sum(nb * na[self.i_ba], axis=1)).mean()) / 2)

    def f_score(self, threshold: float) -> float:
        p, r = np.mean(self.d_ab <= threshold), np.mean(self.d_ba <= threshold)
        return float(2 * p * r / (p + r)) if p + r > 0 else 0.0


def _unit_rows(n) -> np.ndarray:
    """(N, 3) vectors scaled to unit length."""
    n = xyz(n)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
