"""siren.diff.forward: forward-mode value / gradient / Laplacian == the autograd reference, for every model."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from siren.diff import autograd as ag
from siren.diff import forward_derivatives, supports_forward, value_and_derivatives
from siren.models import MODEL_NAMES, Siren, build_model

SMALL = {"hidden_features": 24, "hidden_layers": 1}
EXTRA = {"relu_pe": {"num_frequencies": 3}, "rff": {"num_features": 16, "scale": 2.0},
         "rbf": {"num_centres": 20, "sigma": 2.0}}


def tiny(name, d, c, dtype=torch.float64, seed=0, **options):
    torch.manual_seed(seed)
    return build_model(name, d, c, **{**SMALL, **EXTRA.get(name, {}), **options}).to(dtype)


def points(d, n=50, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)


def reference(model, x):
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    g = ag.gradient(y, x)
    return y, g, ag.divergence(g, x)


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("c", [1, 3])
def test_matches_autograd_float64(name, d, c):
    model = tiny(name, d, c)
    assert supports_forward(model)
    x = points(d)
    y, g, lap = reference(model, x)
    for fused in (True, False):
        v2, g2, l2 = forward_derivatives(model, x, gradient=True, laplacian=True, fused=fused)
        assert v2.shape == (50, c) and g2.shape == (50, c, d) and l2.shape == (50, c)
        assert rel_err(v2, y) < 1e-12
        assert rel_err(g2, g) < 1e-11
        assert rel_err(l2, lap) < 1e-10


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_matches_autograd_float32(name):
    model = tiny(name, 2, 3, dtype=torch.float32)
    x = points(2, dtype=torch.float32)
    y, g, lap = reference(model, x)
    v2, g2, l2 = forward_derivatives(model, x, gradient=True, laplacian=True)
    assert v2.dtype == torch.float32
    assert rel_err(v2, y) < 1e-5
    assert rel_err(g2, g) < 1e-4
    assert rel_err(l2, lap) < 1e-4


@pytest.mark.parametrize("gradient,laplacian", [(False, False), (True, False), (False, True), (True, True)])
def test_only_what_is_asked(gradient, laplacian):
    model = tiny("siren", 2, 1)
    x = points(2)
    y, g, lap = reference(model, x)
    for fused in (True, False):
        v2, g2, l2 = forward_derivatives(model, x, gradient=gradient, laplacian=laplacian, fused=fused)
        assert rel_err(v2, y) < 1e-12
        assert (g2 is None) != gradient and (l2 is None) != laplacian
        if gradient:
            assert rel_err(g2, g) < 1e-11
        if laplacian:
            assert rel_err(l2, lap) < 1e-10


def _param_grads(model, x, mode, gradient, laplacian, weights):
    model.zero_grad(set_to_none=True)
    v, g, lap = value_and_derivatives(model, x, gradient=gradient, laplacian=laplacian, mode=mode)
    loss = (torch.sin(v * weights[0])).sum()
    if gradient:
        loss = loss + ((g - weights[1]) ** 2).mean()
    if laplacian:
        loss = loss + ((lap - weights[2]) ** 2).mean()
    loss.backward()
    return loss.item(), [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("gradient,laplacian", [(False, False), (False, True), (True, False), (True, True)])
def test_parameter_gradients_match(name, gradient, laplacian):
    d, c = 2, 2
    model = tiny(name, d, c)
    x = points(d)
    g = torch.Generator().manual_seed(3)
    weights = (torch.randn(50, c, generator=g, dtype=torch.float64), torch.randn(50, c, d, generator=g,
               dtype=torch.float64), torch.randn(50, c, generator=g, dtype=torch.float64))
    l_ref, g_ref = _param_grads(model, x, "autograd", gradient, laplacian, weights)
    l_fwd, g_fwd = _param_grads(model, x, "forward", gradient, laplacian, weights)
    assert abs(l_ref - l_fwd) <= 1e-10 * abs(l_ref)
    for a, b in zip(g_fwd, g_ref):
        assert rel_err(a, b) < 1e-9


@pytest.mark.parametrize("strategy", ["taylor", "reverse"])
@pytest.mark.parametrize("outermost_linear", [True, False])
@pytest.mark.parametrize("d,c", [(1, 1), (2, 1), (3, 1), (2, 3)])
def test_siren_strategies_and_coordinate_gradients(strategy, outermost_linear, d, c):
    """Both fused strategies agree with autograd on values, parameter gradients and gradients w.r.t. coords."""
    torch.manual_seed(0)
    model = Siren(d, 20, 2, c, outermost_linear=outermost_linear).double()
    x = points(d, n=30).requires_grad_(True)
    y = model(x)
    gr = ag.gradient(y, x)
    w = torch.randn_like(gr)
    params = [x, *model.parameters()]
    ref = torch.autograd.grad((gr * w).square().sum() + y.sum(), params)
    v2, g2, _ = forward_derivatives(model, x, gradient=True, strategy=strategy)
    got = torch.autograd.grad((g2 * w).square().sum() + v2.sum(), params, allow_unused=True)
    assert rel_err(v2, y) < 1e-12 and rel_err(g2, gr) < 1e-11
    for a, b in zip(got, ref):
        a = torch.zeros_like(b) if a is None else a
        assert rel_err(a, b) < 1e-10


def test_float32_laplacian_training_loss_and_gradients():
    """The benchmark's Laplacian loss on a float32 SIREN: same loss to 1e-4 and close parameter gradients."""
    torch.manual_seed(0)
    model = Siren(2, 32, 2, 1)
    x = points(2, n=64, dtype=torch.float32)
    target = torch.randn(64, 1) * 100
    out = {}
    for mode in ("autograd", "forward"):
        model.zero_grad(set_to_none=True)
        _, _, lap = value_and_derivatives(model, x, gradient=False, laplacian=True, mode=mode)
        loss = ((lap - target) ** 2).mean()
        loss.backward()
        out[mode] = loss.item(), [torch.zeros_like(p) if p.grad is None else p.grad.clone()
                                  for p in model.parameters()]
    assert abs(out["forward"][0] - out["autograd"][0]) <= 1e-4 * abs(out["autograd"][0])
    for a, b in zip(out["forward"][1], out["autograd"][1]):
        assert (a - b).norm() <= 1e-3 * b.norm()


def test_leading_dimensions_are_kept():
    model = tiny("siren", 2, 3)
    x = points(2, n=12).reshape(3, 4, 2)
    v, g, lap = forward_derivatives(model, x, gradient=True, laplacian=True)
    assert v.shape == (3, 4, 3) and g.shape == (3, 4, 3, 2) and lap.shape == (3, 4, 3)
    v2, g2, l2 = forward_derivatives(model, x.reshape(12, 2), gradient=True, laplacian=True)
    assert torch.equal(v.reshape(12, 3), v2) and torch.equal(lap.reshape(12, 3), l2)


def test_plain_ops_path_is_twice_differentiable():
    model = tiny("siren", 2, 1)
    x = points(2, n=10).requires_grad_(True)
    _, _, lap = forward_derivatives(model, x, gradient=False, laplacian=True, fused=False)
    gx, = torch.autograd.grad(lap.sum(), x, create_graph=True)
    ref = ag.gradient(ag.laplacian(model(x), x), x)[:, 0]
    assert rel_err(gx, ref) < 1e-10
    assert gx.requires_grad


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 8), nn.GELU(), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)


class NoNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sin(self.lin(x))


def test_supports_forward():
    for name in MODEL_NAMES:
        assert supports_forward(tiny(name, 2, 1))
    assert not supports_forward(Custom())
    assert not supports_forward(NoNet())


def test_mode_selection_and_errors():
    x = points(2, n=8)
    for model in (Custom().double(), NoNet().double()):
        with pytest.raises(ValueError, match="forward"):
            value_and_derivatives(model, x, mode="forward")
        with pytest.raises(ValueError, match="forward-mode"):
            forward_derivatives(model, x)
        # auto falls back to autograd on unsupported models
        v, g, lap = value_and_derivatives(model, x, gradient=True, laplacian=True, mode="auto")
        v2, g2, l2 = value_and_derivatives(model, x, gradient=True, laplacian=True, mode="autograd")
        assert torch.allclose(v, v2) and torch.allclose(g, g2) and torch.allclose(lap, l2)
    with pytest.raises(ValueError, match="unknown derivative mode"):
        value_and_derivatives(tiny("siren", 2, 1), x, mode="fast")
    with pytest.raises(ValueError, match="strategy"):
        forward_derivatives(tiny("siren", 2, 1), x, strategy="sideways")
    with pytest.raises(ValueError, match="reverse"):
        forward_derivatives(tiny("relu", 2, 1), x, strategy="reverse")
    with pytest.raises(ValueError, match="reverse"):
        forward_derivatives(tiny("siren", 2, 1), x, laplacian=True, strategy="reverse")


def test_auto_uses_forward_path_on_supported_models():
    model = tiny("siren", 2, 1)
    x = points(2, n=8)
    v, g, lap = value_and_derivatives(model, x, gradient=True, laplacian=True)
    v2, g2, l2 = forward_derivatives(model, x, gradient=True, laplacian=True)
    assert torch.equal(v, v2) and torch.equal(g, g2) and torch.equal(lap, l2)
    assert not x.requires_grad                      # the forward path needs no grad on the coordinates


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    model = tiny("siren", 2, 3)
    x = points(2)
    cpu = forward_derivatives(model, x, gradient=True, laplacian=True)
    gpu = forward_derivatives(model.cuda(), x.cuda(), gradient=True, laplacian=True)
    for a, b in zip(gpu, cpu):
        assert a.device.type == "cuda" and rel_err(a.cpu(), b) < 1e-10
