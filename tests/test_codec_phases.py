"""The entropy model evaluated phase by phase (training's path) gives the raster-order contexts' bits; one random
phase of grid 0, times 4, is an unbiased estimate of them."""
import pytest
import torch

from siren.codec import grids as G
from siren.codec import laplace
from siren.codec.latent import Arch, LatentImage

# a scheme reaching two latents away (not a format's): the contexts are general in the offsets
WIDE = G.Scheme(tuple((a, b) for a in range(-2, 3) for b in range(-2, 3) if (a, b) != (0, 0)), (0, 1, 2, 3))


@pytest.mark.parametrize("shape", [(7, 5), (8, 8), (9, 12), (1, 1), (2, 3)])
def test_phase_contexts_are_slices_of_the_raster_contexts(shape):
    g = torch.Generator().manual_seed(0)
    grid = torch.randint(-5, 6, shape, generator=g).double()
    parent = torch.randint(-5, 6, (-(-shape[0] // 2), -(-shape[1] // 2)), generator=g).double()
    for scheme in [G.CHECKERBOARD, WIDE]:
        for p in (parent, None):
            full = G.contexts(grid, p, scheme)
            assert full.shape == (scheme.size, *shape)
            for dr, dc in G.PHASES:
                assert torch.equal(G.phase_contexts(grid, p, scheme, dr, dc), full[:, dr::2, dc::2])


@pytest.mark.parametrize("scheme", [G.CHECKERBOARD, WIDE])
def test_contexts_see_only_earlier_passes(scheme):
    """Changing a latent changes only the contexts of latents in later passes (or of the next finer grid): the
    coder can decode pass by pass."""
    grid = torch.randint(-3, 4, (9, 8), generator=torch.Generator().manual_seed(1)).double()
    base = G.contexts(grid, None, scheme)
    passes = torch.tensor([[scheme.passes[G.PHASES.index((r % 2, c % 2))] for c in range(8)] for r in range(9)])
    for r in range(9):
        for c in range(8):
            moved = grid.clone()
            moved[r, c] += 5
            changed = (G.contexts(moved, None, scheme) != base).any(0)
            assert (passes[changed] > passes[r, c]).all()
            seen = [(r - a, c - b) for a, b in scheme.offsets if 0 <= r - a < 9 and 0 <= c - b < 8
                    and passes[r - a, c - b] > passes[r, c]]
            assert all(changed[q] for q in seen)


def test_rate_by_phases_and_its_sampled_estimate():
    torch.manual_seed(0)
    model = LatentImage(Arch(grids=4, width=4, arm=6, arm_layers=2, convs=0), (19, 26)).double()
    with torch.no_grad():
        for y in model.latents:
            y.copy_(torch.round(torch.randn(y.shape) * 3))
        for layer in model.entropy:
            layer.weight.normal_(0, 0.3)
    y = list(model.latents)
    mu, log2b = model.arm(model.contexts(y))
    want = laplace.bits(torch.cat([t.reshape(-1) for t in y]), mu, log2b).sum()
    got = model.rate(y)
    assert torch.allclose(got, want, rtol=1e-12)
    grads = torch.autograd.grad(got, y + list(model.entropy.parameters()))
    ref = torch.autograd.grad(want, y + list(model.entropy.parameters()))
    for a, b in zip(grads, ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        draws = sorted({round(float(model.rate(y, gen)), 6) for _ in range(64)})
    assert len(draws) == 4 and abs(sum(draws) / 4 - float(want.detach())) < 1e-6 * float(want.detach())


@pytest.mark.parametrize("size", [(19, 26), (32, 32), (7, 40), (2, 3)])
def test_upsample_is_repeated_bilinear_doubling(size):
    """Grid i upsampled = 16^i times i bilinear doublings (PyTorch's align_corners=False, edges clamped), each
    cropped to the next grid's shape; exact in float64."""
    count = min(5, int(torch.log2(torch.tensor(float(min(size))))) + 1)
    shapes = G.shapes(size, count)
    grids = [torch.randint(-20, 21, s, generator=torch.Generator().manual_seed(i)).double()
             for i, s in enumerate(shapes)]
    got = G.upsample(grids, size)
    for i, g in enumerate(grids):
        x = g[None, None]
        for j in range(i - 1, -1, -1):
            x = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = x[..., :shapes[j][0], :shapes[j][1]]
        assert torch.equal(got[i], x[0, 0] * 16 ** i)
