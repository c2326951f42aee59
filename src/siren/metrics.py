"""Quality metrics. Images are compared on [0, 1]."""
from __future__ import annotations

import numpy as np
import torch


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


def ssim(pred, target, data_range: float = 1.0) -> float:
    """Structural similarity of (H, W) or (H, W, C) images (scikit-image, channels averaged); NaN when a side is
    shorter than 3 pixels (smaller than the smallest SSIM window)."""
    from skimage.metrics import structural_similarity
    pred, target = _np(pred), _np(target)
    if min(pred.shape[:2]) < 3:
        return float("nan")
    if pred.ndim == 3 and pred.shape[-1] == 1:
        pred, target = pred[..., 0], target[..., 0]
    channel_axis = -1 if pred.ndim == 3 else None
    win = min(7, *(s if s % 2 else s - 1 for s in pred.shape[:2]))
    return float(structural_similarity(pred, target, data_range=data_range, channel_axis=channel_axis,
                                       win_size=max(win, 3)))


def to_unit(values: torch.Tensor) -> torch.Tensor:
    """A signal in [-1, 1] -> [0, 1], clipped (how images and videos are stored and scored)."""
    return ((values + 1.0) / 2.0).clamp(0.0, 1.0)


def unit_psnr(pred: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR (dB) of two signals in [-1, 1], compared on [0, 1] after clipping (`to_unit`)."""
    return psnr(to_unit(pred), to_unit(truth))


def snr_db(pred, target) -> float:
    """Signal-to-noise ratio 10 log10(sum target^2 / sum (pred - target)^2) in dB."""
    pred, target = _np(pred), _np(target)
    noise = np.sum((pred - target) ** 2)
    return float("inf") if noise == 0 else float(10.0 * np.log10(np.sum(target ** 2) / noise))


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def chamfer_distance(a, b) -> float:
    """Symmetric Chamfer distance of point sets a (N, 3) and b (M, 3), in their units (not squared):
    (mean_i min_j |a_i - b_j| + mean_j min_i |b_j - a_i|) / 2."""
    return float((_nearest(a, b)[0].mean() + _nearest(b, a)[0].mean()) / 2)


def normal_consistency(a, na, b, nb) -> float:
    """Normal consistency of oriented point sets (a (N, 3), normals na) and (b (M, 3), nb), in [0, 1]:
    (mean_i |na_i . nb_nn(i)| + mean_j |nb_j . na_nn(j)|) / 2 with unit normals and nn the nearest point in the
    other set; the sign of the normals is ignored, 1 = every normal parallel to its neighbour's."""
    na, nb = _unit_rows(na), _unit_rows(nb)
    ia, ib = _nearest(a, b)[1], _nearest(b, a)[1]
    return float((np.abs(np.sum(na * nb[ia], axis=1)).mean() + np.abs(np.sum(nb * na[ib], axis=1)).mean()) / 2)


def f_score(a, b, threshold: float) -> float:
    """F-score of a prediction a (N, 3) against a reference b (M, 3) at a distance threshold (their units):
    precision P = fraction of a within threshold of b, recall R = fraction of b within threshold of a,
    F = 2 P R / (P + R) (0 when both are 0)."""
    p, r = np.mean(_nearest(a, b)[0] <= threshold), np.mean(_nearest(b, a)[0] <= threshold)
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0


def mesh_metrics(mesh, reference_points, reference_normals=None, samples: int = 100_000, seed: int = 0,
                 threshold: float = 0.01) -> dict:
    """A mesh (trimesh.Trimesh) against reference surface points (M, 3) with optional normals, in the same units.
    The mesh is sampled at `samples` area-uniform points (seeded) with their face normals. Distances are in units
    of D, the reference's bounding-box diagonal: {"chamfer": Chamfer distance / D, "normal_consistency": (NaN
    without reference normals), "f_score": F-score at threshold * D} (chamfer 0.001 = 0.1% of the diagonal)."""
    import trimesh

    from .errors import SirenError
    if len(mesh.faces) == 0 or mesh.area <= 0:
        raise SirenError("mesh_metrics: the mesh has no faces (nothing to sample)")
    ref = _xyz(reference_points)
    diag = float(np.linalg.norm(ref.max(axis=0) - ref.min(axis=0)))
    points, face = trimesh.sample.sample_surface(mesh, samples, seed=seed)
    consistency = float("nan") if reference_normals is None else \
        normal_consistency(points, mesh.face_normals[face], ref, reference_normals)
    return {"chamfer": chamfer_distance(points, ref) / diag, "normal_consistency": consistency,
            "f_score": f_score(points, ref, threshold * diag)}


def _nearest(a, b) -> tuple[np.ndarray, np.ndarray]:
    """For each point of a: (distance to, index of) its nearest point in b (scipy cKDTree)."""
    from scipy.spatial import cKDTree
    return cKDTree(_xyz(b)).query(_xyz(a))


def _xyz(a) -> np.ndarray:
    """A non-empty (N, 3) point array, float64."""
    from .errors import SirenError
    a = _np(a)
    if a.ndim != 2 or a.shape[1] != 3 or len(a) == 0:
        raise SirenError(f"expected a non-empty (N, 3) point array, got shape {a.shape}")
    return a


def _unit_rows(n) -> np.ndarray:
    """(N, 3) vectors scaled to unit length."""
    n = _xyz(n)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
