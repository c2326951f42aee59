"""siren.mesh.extract's memory budget: the faces predicted from coarse grids, the refusal that names the resolution
that fits, and the check while building (a field whose detail the coarse grids miss)."""
import numpy as np
import pytest
import torch

import siren.mesh.extract
from siren.mesh import BYTES_PER_FACE, MeshTooLarge, estimate_mesh, extract_mesh
from siren.shapes import Sphere


class RandomField(torch.nn.Module):
    """An untrained-network-like field: a random sine layer summed, crossing zero in nearly every cell."""

    def __init__(self, frequency: float = 60.0, width: int = 32):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w, self.b = torch.randn(3, width, generator=g) * frequency, torch.rand(width, generator=g) * 6.28

    def forward(self, x):
        return torch.sin(x @ self.w + self.b).sum(1)


@pytest.mark.parametrize("fn, exponent", [(RandomField(), 3), (Sphere(0.5), 2)])
def test_estimate_predicts_the_faces(fn, exponent):
    """From grids of 24 and 12 cells: the growth of a space-filling field (c^3) and of a surface (c^2), and the
    faces at 48 points per axis within a factor 1.5 (the estimate errs on the large side)."""
    estimate = estimate_mesh(fn, 48)
    assert [c for c, _ in estimate.levels] == [12, 24] and estimate.exponent == pytest.approx(exponent, abs=0.05)
    faces = len(extract_mesh(fn, 48, memory=None, check_watertight=False).faces)
    assert faces <= estimate.faces(48) < 1.5 * faces


def test_over_the_budget_is_refused_naming_the_resolution_that_fits():
    field, memory = RandomField(), 2e7                  # 20 MB: about 29k faces
    with pytest.raises(MeshTooLarge, match=r"^resolution 40 would make a mesh of about [\d.e+]+ faces .* over the "
                                           r"mesh memory budget of 0.0186 GiB \(pass --resolution (\d+) or a larger "
                                           r"--mesh-memory\)$") as e:
        extract_mesh(field, 40, memory=memory)
    assert 8 <= e.value.fits < 40
    mesh = extract_mesh(field, e.value.fits, memory=memory, check_watertight=False)
    assert BYTES_PER_FACE * len(mesh.faces) <= memory
    with pytest.raises(MeshTooLarge, match=r"crosses the level almost everywhere") as e:
        extract_mesh(field, 40, memory=1e4)
    assert e.value.fits is None
    assert len(extract_mesh(Sphere(0.5), 40, memory=memory).faces) > 1000    # a surface fits


@pytest.mark.parametrize("method", ["coarse_to_fine", "dense"])
def test_faces_beyond_the_budget_stop_the_extraction(monkeypatch, method):
    """An estimate that misses the field's detail (here: says there is none): the faces built so far stop it."""
    monkeypatch.setattr(siren.mesh.extract, "estimate_mesh",
                        lambda *a: siren.mesh.extract.MeshEstimate([(12, 0), (24, 0)], 0))
    with pytest.raises(MeshTooLarge, match=r"resolution 40 would make .* \(pass --resolution \d+ ") as e:
        extract_mesh(RandomField(), 40, memory=2e7, method=method)
    assert 8 <= e.value.fits < 40
