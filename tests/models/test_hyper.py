"""Priors over SIRENs: the generated SIRENs are exactly `Siren` modules with those weights, start with the SIREN
init's spread, the encoders see only the context pixels, and the CNN's normalized convolution is a local weighted
mean of them."""
from __future__ import annotations

import pytest
import torch

from siren import Siren
from siren.models import build_model, model_from_spec
from siren.models.batched import siren_forward
from siren.models.hyper import (CNNEncoder, HyperNetwork, PriorOutput, SetEncoder, gather_context,
                                gaussian_pyramid_sigmas, normalized_convolution, siren_init_std)

TINY = dict(resolution=8, latent_dim=6, hidden_features=16, hidden_layers=1, encoder_hidden=8, encoder_layers=1)


def _images(b=3, s=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(b, s, s, 3, generator=gen) * 2 - 1, torch.rand(b, s, s, generator=gen) < 0.3


@pytest.mark.parametrize("outermost_linear", [True, False])
@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-6), (torch.float32, 1e-5)])
def test_generated_sirens_equal_siren_modules_with_those_weights(device, outermost_linear, dtype, atol):
    """Functional batched SIREN (siren_forward on the hypernetwork's per-image weights) == a `Siren` module with
    image b's weights loaded, for every image of the batch, for codes z ~ N(0, I) (half of the generated weights'
    variance comes from z): to 1e-6 in float64 (the two differ by rounding only: siren_forward folds omega into W
    and c), to 1e-5 in float32, where a sine output layer amplifies that rounding (the default architecture, a
    linear output layer, agrees to 1e-6 in float32 too: next test)."""
    hyper = HyperNetwork(5, 2, 3, hidden_features=32, hidden_layers=2, first_omega_0=30.0, hidden_omega_0=20.0,
                         outermost_linear=outermost_linear, hyper_hidden=16).to(device, dtype)
    params = hyper(torch.randn(4, 5, device=device, dtype=dtype))
    coords = torch.rand(200, 2, device=device, dtype=dtype) * 2 - 1
    out = hyper.evaluate(params, coords)
    assert out.shape == (4, 200, 3)
    for b in range(4):
        siren = hyper.siren(params, b)
        assert isinstance(siren, Siren) and siren.net[0].linear.weight.dtype == dtype
        torch.testing.assert_close(out[b], siren(coords), rtol=0, atol=atol)
    per_image = coords.expand(4, 200, 2).clone()
    torch.testing.assert_close(hyper.evaluate(params, per_image), out, rtol=0, atol=atol)


def test_siren_forward_equals_siren_modules_at_paper_width():
    """float32, the paper's architecture (width 256, 3 hidden layers, linear output), Sirens' own init weights:
    the functional SIREN equals the modules to 1e-6."""
    sirens = [Siren(2, 256, 3, 3) for _ in range(2)]
    lins = [[m.linear if hasattr(m, "linear") else m for m in s.net] for s in sirens]
    weights = [torch.stack([ls[i].weight for ls in lins]) for i in range(5)]
    biases = [torch.stack([ls[i].bias for ls in lins]) for i in range(5)]
    x = torch.rand(300, 2) * 2 - 1
    out = siren_forward(x, weights, biases, [30.0, 30.0, 30.0, 30.0, None])
    for b, s in enumerate(sirens):
        torch.testing.assert_close(out[b], s(x), rtol=0, atol=1e-6)


def test_initial_generated_weights_have_the_siren_init_spread():
    """For latent codes z ~ N(0, I), each generated parameter tensor with >= 256 entries has the standard deviation
    of the paper's init of that tensor (U(+-1/n) first, U(+-sqrt(6/n)/omega) later, U(+-1/sqrt(n)) biases) within
    10% (the init's own sampling spread for 256 entries is about 4%), and with z_scale = 1 its latent-dependent part
    is about half of it (sqrt(1/2) = 0.71 less what ReLU means make constant: between 0.35 and 0.65)."""
    torch.manual_seed(1)
    hyper = HyperNetwork(16, 2, 3, hidden_features=256, hidden_layers=2, hidden_omega_0=30.0, hyper_hidden=32)
    params = hyper(torch.randn(64, 16))
    fan_in = [2, 2, 256, 256, 256, 256, 256, 256]
    kinds = ["first", "bias", "weight", "bias", "weight", "bias", "weight", "bias"]
    checked = 0
    for p, n, kind, std in zip(params, fan_in, kinds, hyper.init_stds, strict=True):
        assert std == pytest.approx(siren_init_std(n, kind, 30.0))
        if p[0].numel() < 256:
            continue
        checked += 1
        assert p.std().item() == pytest.approx(std, rel=0.10), (kind, p.shape)
        z_part = (p - p.mean(0)).std().item()                  # varies with z: what the encoder controls
        assert 0.35 * std < z_part < 0.65 * std, (kind, z_part / std)
        assert p.abs().max() < 8 * std                           # no blow-up far past the init's scale
    assert checked == 7                                          # all but the tiny output bias


def test_hypernetwork_emits_each_tensor_in_units_of_its_init_std():
    """theta_i = s_i * MLP_i(z): the same Adam step on each MLP's last bias moves every tensor by the same
    multiple of its own init spread s_i (s differs 70x between the first and the hidden weights here)."""
    torch.manual_seed(0)
    hyper = HyperNetwork(8, 2, 3, hidden_features=128, hidden_layers=2, hyper_hidden=16)
    z = torch.randn(4, 8)
    before = [p.detach() for p in hyper(z)]
    with torch.no_grad():
        for net in hyper.nets:
            net[-1].bias += 1e-3
    moved = [((p - q).mean() / s).item() for p, q, s in zip(hyper(z), before, hyper.init_stds)]
    assert max(hyper.init_stds) / min(hyper.init_stds) > 50
    assert moved == pytest.approx([1e-3] * len(moved), rel=1e-3)


def test_hypernetwork_has_one_relu_mlp_per_parameter_tensor():
    hyper = HyperNetwork(8, 2, 3, hidden_features=16, hidden_layers=2, hyper_hidden=12, hyper_layers=2)
    siren = Siren(2, 16, 2, 3)
    assert len(hyper.nets) == len(list(siren.parameters())) == 8
    for net, p in zip(hyper.nets, siren.parameters()):
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        assert [(l.in_features, l.out_features) for l in linears] == [(8, 12), (12, 12), (12, p.numel())]
        assert sum(isinstance(m, torch.nn.ReLU) for m in net) == 2


def test_gather_context_pads_and_keeps_pixel_order():
    values = torch.arange(2 * 4 * 1.0).reshape(2, 4, 1)
    mask = torch.tensor([[False, True, False, True], [False, False, True, False]])
    coords = torch.arange(4.0)[:, None]
    points, valid = gather_context(values, mask, coords)
    assert points.shape == (2, 2, 2)
    assert points[0].tolist() == [[1.0, 1.0], [3.0, 3.0]] and points[1, 0].tolist() == [2.0, 6.0]
    assert valid.tolist() == [[True, True], [True, False]]


@pytest.mark.parametrize("encoder", ["set", "cnn"])
def test_encoders_see_only_the_context(encoder):
    """Changing pixels outside the mask leaves z unchanged; changing a context pixel changes it."""
    torch.manual_seed(0)
    enc = SetEncoder(3, 6, 8, 1) if encoder == "set" else CNNEncoder(3, 8, 6, 8, 1)
    values, mask = _images()
    z = enc(values, mask)
    other = torch.where(mask[..., None], values, torch.rand_like(values))
    torch.testing.assert_close(enc(other, mask), z)
    changed = values.clone()
    changed[mask] += 0.5
    assert not torch.allclose(enc(changed, mask), z)


@pytest.mark.parametrize("sigma", [1.0, 4.0])
def test_normalized_convolution_is_a_gaussian_weighted_mean_of_the_known_pixels(sigma):
    """At every pixel p: estimate = sum_q g(p - q) m_q v_q / (sum_q g(p - q) m_q + eps) and certainty = sum_q
    g(p - q) m_q, with g the normalised Gaussian truncated at 3 sigma (brute force over all pixels q); a full mask
    has certainty 1 away from the border."""
    n = 28
    values, mask = _images(b=2, s=n)
    v, m = values.permute(0, 3, 1, 2).double(), mask.double()[:, None]
    u, c = normalized_convolution(v, m, sigma, eps=1e-3)
    r = 3 * int(sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    g1 = torch.exp(-0.5 * (t / sigma) ** 2)
    g1 = g1 / g1.sum()
    ys = torch.arange(n)
    for y, x in [(0, 0), (5, 17), (27, 3)]:
        d = (ys[:, None] - y).abs(), (ys[None, :] - x).abs()
        w = torch.where((d[0] <= r) & (d[1] <= r), g1[d[0].clamp(max=r) + r] * g1[d[1].clamp(max=r) + r], 0.0)
        wm = w * m[:, 0]                                                           # (B, n, n)
        torch.testing.assert_close(c[:, 0, y, x], wm.sum((1, 2)))
        expect = (wm[:, None] * v).sum((2, 3)) / (wm.sum((1, 2))[:, None] + 1e-3)
        torch.testing.assert_close(u[:, :, y, x], expect)
    full = normalized_convolution(v, torch.ones_like(m), sigma)[1][0, 0]
    torch.testing.assert_close(full[r:-r, r:-r], torch.ones(n - 2 * r, n - 2 * r, dtype=torch.float64))


def test_cnn_encoder_sees_a_pyramid_and_takes_any_side():
    """Bandwidths 1, 2, ... up to a quarter of the side; the 4 x 4 output grid lets one encoder take other sides."""
    assert gaussian_pyramid_sigmas(32) == [1.0, 2.0, 4.0, 8.0] and gaussian_pyramid_sigmas(8) == [1.0, 2.0]
    enc = CNNEncoder(3, 8, 6, 8, 1)
    for side in (8, 13, 20):
        values, mask = _images(b=2, s=side)
        assert enc(values, mask).shape == (2, 6)


def test_set_encoder_pools_by_masked_mean():
    """In a batch, each image's z is the plain mean over its own context pixels (padding ignored), whatever the
    other images' context sizes."""
    torch.manual_seed(0)
    enc = SetEncoder(3, 6, 8, 1)
    values, mask = _images(b=3)
    mask[1] = False
    mask[1, 2, 3] = True                                        # one context pixel next to ~20
    z = enc(values, mask)
    from siren.data.grid import grid
    coords = grid((8, 8))
    for b in range(3):
        m = mask[b].flatten()
        pts = torch.cat([coords[m], values[b].reshape(64, 3)[m]], dim=1)
        torch.testing.assert_close(z[b], enc.net(pts).mean(0), rtol=1e-5, atol=1e-6)
    assert torch.equal(enc(values, torch.zeros_like(mask))[0], torch.zeros(6))   # no context: z = 0


@pytest.mark.parametrize("name", ["set", "cnn", "cnp"])
def test_registry_builds_prior_models_that_round_trip_through_their_spec(name):
    opts = dict(TINY, **({} if name == "cnp" else {"hyper_hidden": 8}))
    model = build_model(name, 2, 3, kind="prior", **opts)
    values, mask = _images()
    out = model(values, mask)
    assert isinstance(out, PriorOutput) and out.pred.shape == (3, 8, 8, 3) and out.z.shape == (3, 6)
    assert (out.params is None) == (name == "cnp") and (out.std is None) == (name != "cnp")
    if out.std is not None:
        assert out.std.min() >= 0.1
    copy = model_from_spec(model.spec)
    copy.load_state_dict(model.state_dict())
    torch.testing.assert_close(copy(values, mask).pred, out.pred)
    big = model.render(out.z, (20, 20))                          # a function: any resolution
    assert big.shape == (3, 20, 20, 3)
    torch.testing.assert_close(model.render(out.z, (8, 8)), out.pred.detach(), rtol=1e-5, atol=1e-5)
    out.pred.pow(2).mean().backward()                            # the encoder is trained through the decoder
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    with pytest.raises(ValueError, match="takes no option"):
        build_model(name, 2, 3, kind="prior", first_omega=30)
    with pytest.raises(ValueError, match="in_features must be 2"):
        build_model(name, 3, 3, kind="prior", **opts)

