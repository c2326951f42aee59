"""Costs that follow the work (issue 25): samplers, strided grids and chunked metrics give the same answers as the
straightforward whole-signal versions."""
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from siren.data.grid import SPARSE_DRAW, grid, random_indices
from helpers import chamfer_distance, f_score, normal_consistency
from siren.metrics import SurfaceReference, mesh_metrics, ssim
from siren.models import build_model
from siren.rendering import render_derivatives


@pytest.mark.parametrize("total,n", [(10, 3), (1000, 10), (10**7, 5000), (100, 100), (5, 9)])
def test_random_indices_distinct_in_range(total, n):
    idx = random_indices(total, n, torch.Generator().manual_seed(1))
    assert len(idx) == min(n, total) and len(idx.unique()) == len(idx)
    assert 0 <= int(idx.min()) and int(idx.max()) < total


def test_sparse_draw_is_uniform():
    """The draw without a permutation (n * SPARSE_DRAW <= total): every index equally likely (chi-square over
    4,000 draws of 4 of 64), and every pair of positions as likely as another (no order bias)."""
    total, n, draws = 64, 4, 4000
    assert n * SPARSE_DRAW <= total
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(total)
    first = torch.zeros(total)
    for _ in range(draws):
        idx = random_indices(total, n, g)
        counts[idx] += 1
        first[idx[0]] += 1
    expected = draws * n / total
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 110          # 63 degrees of freedom: p ~ 1e-4
    assert float(((first - draws / total) ** 2 / (draws / total)).sum()) < 110   # the first drawn is uniform too


@pytest.mark.parametrize("shape,stride", [((9, 7), 2), ((16, 5), 3), ((4, 6, 5), 2), ((1, 8), 4), ((7,), 7)])
def test_strided_grid_is_the_full_grid_subsampled(shape, stride):
    full = grid(shape).reshape(*shape, len(shape))
    expect = full[tuple(slice(None, None, stride) for _ in shape)].reshape(-1, len(shape))
    torch.testing.assert_close(grid(shape, stride=stride), expect, rtol=0, atol=0)


def test_strided_derivatives_match_full_render():
    torch.manual_seed(0)
    model = build_model("siren", in_features=2, out_features=3, hidden_features=16, hidden_layers=1)
    full = render_derivatives(model, (11, 9))
    part = render_derivatives(model, (11, 9), stride=3)
    assert part[0].shape == (4, 3, 3) and part[1].shape == (4, 3, 3, 2) and part[2].shape == (4, 3, 3)
    for a, b in zip(full, part):
        torch.testing.assert_close(b, a[::3, ::3], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,band", [((130, 47, 3), 16), ((61, 80), 7), ((40, 33, 1), 1)])
def test_banded_ssim_equals_scikit_image(shape, band):
    rng = np.random.default_rng(2)
    a = rng.random(shape).astype(np.float32)
    b = np.clip(a + 0.2 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    if len(shape) == 3 and shape[-1] == 1:
        a2, b2, axis = a[..., 0], b[..., 0], None
    else:
        a2, b2, axis = a, b, (-1 if len(shape) == 3 else None)
    truth = structural_similarity(a2, b2, data_range=1.0, channel_axis=axis, win_size=7)
    assert ssim(a, b, band=band) == pytest.approx(truth, abs=1e-8)   # float32 maps summed in another order


def test_one_query_per_direction_metrics_match_brute_force():
    """Chamfer, normal consistency and F-score from one nearest-neighbour query per direction equal the brute-force
    pairwise answers; mesh_metrics with a reusable SurfaceReference equals it with raw points."""
    import trimesh
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((300, 3)), rng.standard_normal((200, 3))
    na, nb = rng.standard_normal((300, 3)), rng.standard_normal((200, 3))
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    ia, ib = d.argmin(1), d.argmin(0)
    unit = lambda n: n / np.linalg.norm(n, axis=1, keepdims=True)  # noqa: E731
    assert chamfer_distance(a, b) == pytest.approx((d.min(1).mean() + d.min(0).mean()) / 2, rel=1e-12)
    nc = (np.abs((unit(na) * unit(nb)[ia]).sum(1)).mean() + np.abs((unit(nb) * unit(na)[ib]).sum(1)).mean()) / 2
    assert normal_consistency(a, na, b, nb) == pytest.approx(nc, rel=1e-12)
    p, r = (d.min(1) <= 0.3).mean(), (d.min(0) <= 0.3).mean()
    assert f_score(a, b, 0.3) == pytest.approx(2 * p * r / (p + r), rel=1e-12)
    mesh = trimesh.creation.icosphere(subdivisions=2)
    ref_points, ref_normals = mesh.vertices * 1.05, mesh.vertex_normals
    reference = SurfaceReference(ref_points, ref_normals)
    assert mesh_metrics(mesh, reference, samples=2000) == mesh_metrics(mesh, ref_points, ref_normals, samples=2000)
