import imageio.v3 as iio
import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial import cKDTree
from torch import nn

import siren.mesh
import siren.mesh.extract
from siren.errors import SirenError
from siren.mesh import extract_mesh, keep_supported, save_mesh, to_units
from siren.shapes import Sphere, Torus
from siren.viz.mesh import render_mesh_png, sdf_slice_png


class SineBump(nn.Module):
    """A SIREN-like non-exact SDF: sphere(0.5) + a random one-hidden-layer sine network scaled so that its
    Lipschitz bound |W2| w0 |W1| (spectral norms) is `amp`; |grad f| <= 1 + amp."""

    def __init__(self, amp: float = 0.5, w0: float = 6.0, width: int = 64):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.hidden, self.out, self.w0, self.lipschitz = nn.Linear(3, width), nn.Linear(width, 1), w0, 1 + amp
        with torch.no_grad():
            self.hidden.weight.uniform_(-1, 1, generator=g)
            self.hidden.bias.uniform_(-3, 3, generator=g)
            self.out.weight.normal_(generator=g)
            self.out.weight *= amp / (w0 * torch.linalg.matrix_norm(self.hidden.weight, 2)
                                      * torch.linalg.matrix_norm(self.out.weight, 2))
            self.out.bias.zero_()

    def forward(self, p):
        return p.norm(dim=-1, keepdim=True) - 0.5 + self.out(torch.sin(self.w0 * self.hidden(p)))


def bumpy_sphere(p):
    """Not an exact SDF: |grad| <= 1 + 0.05 * 5 * sqrt(3) < 1.45."""
    return Sphere(0.5)(p) + 0.05 * torch.sin(5 * p[:, 0]) * torch.sin(5 * p[:, 1]) * torch.sin(5 * p[:, 2])


def face_set(mesh):
    return set(map(tuple, np.sort(mesh.faces, axis=1).tolist()))


def hausdorff(a, b) -> float:
    return max(cKDTree(a.vertices).query(b.vertices)[0].max(), cKDTree(b.vertices).query(a.vertices)[0].max())


@pytest.mark.parametrize("fn, lipschitz, n", [(Sphere(0.5), 1.0, 65), (Torus(0.5, 0.2), 1.0, 64),
                                              (bumpy_sphere, 1.45, 61)])
def test_coarse_to_fine_equals_dense(fn, lipschitz, n):
    """Bit for bit: same vertices (sorted) and faces. 65 puts grid points exactly on the sphere (zero values);
    61 and 64 clip the last block."""
    dense = extract_mesh(fn, n, method="dense")
    fine = extract_mesh(fn, n, lipschitz=lipschitz, block=16)
    np.testing.assert_array_equal(fine.vertices, dense.vertices)
    assert face_set(fine) == face_set(dense) and fine.is_watertight
    assert dense.metadata["evaluations"] == n ** 3
    assert fine.metadata["evaluations"] < 0.3 * n ** 3  # cells were pruned


@pytest.mark.parametrize("tile_points", [None, 1])
def test_coarse_to_fine_evaluates_in_batches_each_point_once(monkeypatch, tile_points):
    """One call of fn per tile and level (plus one per `chunk` points), never one per block; each grid point at
    most once, also across tiles that share a face: x-slabs of blocks, or single blocks (tile_points 1). 61 clips
    the last block."""
    if tile_points:
        monkeypatch.setattr(siren.mesh.extract, "TILE_POINTS", tile_points)
    batches = []

    def fn(p):
        batches.append(p.numpy().copy())
        return bumpy_sphere(p)
    n, block, chunk = 61, 8, 4096
    fine = extract_mesh(fn, n, lipschitz=1.45, block=block, chunk=chunk, memory=None)  # no estimate first
    points = np.concatenate(batches)
    assert len(np.unique(points, axis=0)) == len(points) == fine.metadata["evaluations"]
    tiles, levels = 8 if tile_points is None else 8 * 8, 3  # 8 x-slabs of blocks or 8 x 8 columns; steps 4, 2, 1
    assert len(batches) <= 1 + tiles * levels + len(points) // chunk
    dense = extract_mesh(bumpy_sphere, n, method="dense")
    np.testing.assert_array_equal(fine.vertices, dense.vertices)
    assert face_set(fine) == face_set(dense)


def test_coarse_to_fine_equals_dense_for_a_network():
    """A sine network's output can differ in the last bits with the batch it is evaluated in: equal up to
    float round-off (measured Hausdorff distance 9e-10)."""
    model = SineBump()
    dense = extract_mesh(model, 64, method="dense")
    fine = extract_mesh(model, 64, lipschitz=model.lipschitz)
    assert len(fine.vertices) == len(dense.vertices) and len(fine.faces) == len(dense.faces)
    assert hausdorff(fine, dense) < 1e-6 and fine.is_watertight
    assert fine.metadata["evaluations"] < 0.3 * 64 ** 3


def test_sphere_mesh_is_accurate_and_outward():
    mesh = extract_mesh(Sphere(0.5), 48)
    h = 2 / 47
    assert np.abs(np.linalg.norm(mesh.vertices, axis=1) - 0.5).max() < 0.05 * h  # linear interpolation error
    assert mesh.volume == pytest.approx(4 / 3 * np.pi * 0.5 ** 3, rel=0.01)  # > 0: normals point outward


def test_model_on_device(device):
    model = SineBump().to(device)
    mesh = extract_mesh(model, 40, lipschitz=model.lipschitz)  # points follow the model's parameters
    assert mesh.is_watertight and len(mesh.faces) > 1000


def test_errors_and_warnings():
    with pytest.raises(SirenError, match=r"no surface: the SDF ranges over \[0\.5, 2\.232\] on the grid, level 0 "
                                         r"is outside it \(train longer or check the input\)"):
        extract_mesh(Sphere(-0.5), 17, method="dense")
    with pytest.raises(SirenError, match="no surface"):
        extract_mesh(Sphere(0.5), 17, level=2.0)
    with pytest.warns(UserWarning, match="not watertight"):
        extract_mesh(Sphere(1.2), 17)  # cut open by the bounds
    with pytest.raises(SirenError, match="unknown meshing method"):
        extract_mesh(Sphere(0.5), 17, method="octree")
    with pytest.raises(SirenError, match="power of two"):
        extract_mesh(Sphere(0.5), 17, block=12)
    with pytest.raises(SirenError, match=r"returned shape \(\d+, 2\)"):
        extract_mesh(lambda p: p[:, :2], 17)
    with pytest.raises(SirenError, match="NaN or infinite"):
        extract_mesh(lambda p: p[:, 0] / 0 * 0, 17)


def test_keep_supported_drops_the_pieces_far_from_the_points():
    """Two spheres and a torus as one mesh; points near the big sphere and the torus only: the small sphere (no
    vertex within the tolerance) goes, with its share of the area; one point near it keeps everything."""
    big = trimesh.creation.icosphere(3, radius=0.5)
    small = trimesh.creation.icosphere(3, radius=0.1).apply_translation([0.8, 0.8, 0.8])
    ring = trimesh.creation.torus(0.3, 0.05).apply_translation([-0.6, 0.0, -0.6])
    whole = trimesh.util.concatenate([big, small, ring])
    points = np.vstack([big.sample(500, seed=0) * 1.01, ring.sample(300, seed=1)])   # off the mesh by 0.005
    kept, dropped, area = keep_supported(whole, points, tolerance=0.02)
    assert dropped == 1 and area == pytest.approx(small.area / whole.area, rel=1e-9)
    assert len(kept.faces) == len(big.faces) + len(ring.faces) and kept.area == pytest.approx(big.area + ring.area)
    assert np.linalg.norm(kept.vertices - [0.8, 0.8, 0.8], axis=1).min() > 0.5
    same, none, zero = keep_supported(whole, np.vstack([points, small.vertices[:1]]), tolerance=0.02)
    assert same is whole and none == 0 and zero == 0.0
    with pytest.raises(SirenError, match=r"no piece of the mesh comes within 0\.01 of an input point \(3 pieces\)"):
        keep_supported(whole, np.full((5, 3), 3.0), tolerance=0.01)


def test_units_and_export(tmp_path):
    mesh = extract_mesh(Torus(0.5, 0.2), 24)
    moved = to_units(mesh, center=[1.0, 2.0, 3.0], scale=10.0)
    np.testing.assert_allclose(moved.vertices, mesh.vertices * 10 + [1, 2, 3])
    assert moved.volume == pytest.approx(mesh.volume * 1000)
    for suffix in (".ply", ".obj", ".glb"):
        path = save_mesh(mesh, tmp_path / "out" / f"torus{suffix}")
        loaded = trimesh.load(path, force="mesh")
        assert len(loaded.faces) == len(mesh.faces)
        np.testing.assert_allclose(loaded.bounds, mesh.bounds, atol=1e-6)
    with pytest.raises(SirenError, match="unknown mesh format '.stl'"):
        save_mesh(mesh, tmp_path / "torus.stl")


def test_pictures(tmp_path):
    """siren.viz.mesh draws them (the mesh decimated to max_faces); siren.mesh still exports them."""
    mesh = extract_mesh(Torus(0.5, 0.2), 24)
    render_mesh_png(mesh, tmp_path / "torus.png", max_faces=800)
    assert iio.imread(tmp_path / "torus.png").shape[:2] == (500, 1000)
    sdf_slice_png(Torus(0.5, 0.2), tmp_path / "slice.png", axis=1, resolution=64)
    assert iio.imread(tmp_path / "slice.png").ndim == 3
    assert siren.mesh.render_mesh_png is render_mesh_png and siren.mesh.sdf_slice_png is sdf_slice_png
