"""siren.diff.forward: forward-mode value / gradient / Laplacians / Hessians == the autograd reference, for every model."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from siren.diff import autograd as ag
from siren.diff import Request, derivatives, forward_derivatives, inference, supports_forward, value_and_derivatives
from siren.models import MODEL_NAMES, Siren, build_model
from siren.models import activations as A

SMALL = {"hidden_features": 24, "hidden_layers": 1}
EXTRA = {"relu_pe": {"num_frequencies": 3}, "rff": {"num_features": 16, "scale": 2.0},
         "rbf": {"num_centres": 20, "sigma": 2.0}, "finer": {"first_bias_scale": 2.0},
         "hashgrid": {"levels": 4, "table_size": 2 ** 8}}
AUTOGRAD_ONLY = ("hashgrid",)            # families without forward-mode rules: `derivatives` uses autograd
FORWARD_NAMES = tuple(n for n in MODEL_NAMES if n not in AUTOGRAD_ONLY)


def tiny(name, d, c, dtype=torch.float64, seed=0, **options):
    torch.manual_seed(seed)
    return build_model(name, d, c, **{**SMALL, **EXTRA.get(name, {}), **options}).to(dtype)


def points(d, n=50, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)


def fwd(model, x, gradient=True, laplacian=False, fused=True, strategy="auto"):
    """(value, gradient, Laplacian over every axis) from forward_derivatives, None where not asked."""
    out = forward_derivatives(model, x, Request(gradient=gradient, laplacian=laplacian), fused=fused,
                              strategy=strategy)
    return out.value, out.gradient, (out.laplacian() if laplacian else None)


def reference(model, x):
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    g = ag.gradient(y, x)
    return y, g, ag.divergence(g, x)


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("name", FORWARD_NAMES)
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("c", [1, 3])
def test_matches_autograd_float64(name, d, c):
    model = tiny(name, d, c)
    assert supports_forward(model)
    x = points(d)
    y, g, lap = reference(model, x)
    for fused in (True, False):
        v2, g2, l2 = fwd(model, x, gradient=True, laplacian=True, fused=fused)
        assert v2.shape == (50, c) and g2.shape == (50, c, d) and l2.shape == (50, c)
        assert rel_err(v2, y) < 1e-12
        assert rel_err(g2, g) < 1e-11
        assert rel_err(l2, lap) < 1e-10


@pytest.mark.parametrize("name", FORWARD_NAMES)
def test_matches_autograd_float32(name):
    model = tiny(name, 2, 3, dtype=torch.float32)
    x = points(2, dtype=torch.float32)
    y, g, lap = reference(model, x)
    v2, g2, l2 = fwd(model, x, gradient=True, laplacian=True)
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
        v2, g2, l2 = fwd(model, x, gradient=gradient, laplacian=laplacian, fused=fused)
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


@pytest.mark.parametrize("name", FORWARD_NAMES)
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


def _gradient_loss_both_ways(model, d, strategy):
    """A gradient loss sum((grad * w)^2) + sum(y) on 30 float64 points, by autograd and by the fused `strategy`
    -> ((y, grad, d loss / d (coords, params)) autograd, the same forward-mode; unused parameters' gradients 0)."""
    x = points(d, n=30).requires_grad_(True)
    y = model(x)
    gr = ag.gradient(y, x)
    w = torch.randn_like(gr)
    params = [x, *model.parameters()]
    ref = torch.autograd.grad((gr * w).square().sum() + y.sum(), params)
    v2, g2, _ = fwd(model, x, gradient=True, strategy=strategy)
    got = torch.autograd.grad((g2 * w).square().sum() + v2.sum(), params, allow_unused=True)
    got = [torch.zeros_like(b) if a is None else a for a, b in zip(got, ref)]
    return (y, gr, ref), (v2, g2, got)


@pytest.mark.parametrize("strategy", ["taylor", "reverse"])
@pytest.mark.parametrize("outermost_linear", [True, False])
@pytest.mark.parametrize("d,c", [(1, 1), (2, 1), (3, 1), (2, 3)])
def test_siren_strategies_and_coordinate_gradients(strategy, outermost_linear, d, c):
    """Both fused strategies agree with autograd on values, parameter gradients and gradients w.r.t. coords."""
    torch.manual_seed(0)
    model = Siren(d, 20, 2, c, outermost_linear=outermost_linear).double()
    (y, gr, ref), (v2, g2, got) = _gradient_loss_both_ways(model, d, strategy)
    assert rel_err(v2, y) < 1e-12 and rel_err(g2, gr) < 1e-11
    for a, b in zip(got, ref):
        assert rel_err(a, b) < 1e-10


@pytest.mark.parametrize("name", ["finer", "gauss", "wire"])
@pytest.mark.parametrize("d,c", [(1, 1), (2, 1), (3, 1), (2, 3)])
def test_fused_reverse_gradient_chain_of_activated_layers(name, d, c):
    """The fused gradient chain (strategy "reverse", what "auto" picks for a gradient loss with C <= d) through
    FINER, Gauss and Gabor layers: values, gradients, parameter and coordinate gradients equal autograd."""
    torch.manual_seed(0)
    model = build_model(name, d, c, hidden_features=20, hidden_layers=2).double()
    (y, gr, ref), (v2, g2, got) = _gradient_loss_both_ways(model, d, "reverse")
    assert rel_err(v2, y) < 1e-12 and rel_err(g2, gr) < 1e-10
    for a, b in zip(got, ref):
        assert rel_err(a, b) < 1e-9


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
    out = derivatives(model, x, gradient=True, laplacian=True, hessian=True)
    v, g, lap, h = out.value, out.gradient, out.laplacian(), out.hessian
    assert v.shape == (3, 4, 3) and g.shape == (3, 4, 3, 2) and lap.shape == (3, 4, 3) and h.shape == (3, 4, 3, 2, 2)
    v2, g2, l2 = fwd(model, x.reshape(12, 2), gradient=True, laplacian=True)
    assert torch.equal(v.reshape(12, 3), v2) and torch.allclose(lap.reshape(12, 3), l2, rtol=1e-12, atol=0)


def test_plain_ops_path_is_twice_differentiable():
    model = tiny("siren", 2, 1)
    x = points(2, n=10).requires_grad_(True)
    _, _, lap = fwd(model, x, gradient=False, laplacian=True, fused=False)
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
        assert supports_forward(tiny(name, 2, 1)) == (name in FORWARD_NAMES)
    assert not supports_forward(Custom())
    assert not supports_forward(NoNet())


def test_mode_selection_and_errors():
    x = points(2, n=8)
    for model in (Custom().double(), NoNet().double()):
        with pytest.raises(ValueError, match="forward"):
            value_and_derivatives(model, x, mode="forward")
        with pytest.raises(ValueError, match="forward-mode"):
            forward_derivatives(model, x, Request(gradient=True))
        # auto falls back to autograd on unsupported models
        v, g, lap = value_and_derivatives(model, x, gradient=True, laplacian=True, mode="auto")
        v2, g2, l2 = value_and_derivatives(model, x, gradient=True, laplacian=True, mode="autograd")
        assert torch.allclose(v, v2) and torch.allclose(g, g2) and torch.allclose(lap, l2)
    with pytest.raises(ValueError, match="unknown derivative mode"):
        value_and_derivatives(tiny("siren", 2, 1), x, mode="fast")
    with pytest.raises(ValueError, match="strategy"):
        fwd(tiny("siren", 2, 1), x, strategy="sideways")
    with pytest.raises(ValueError, match="reverse"):
        fwd(tiny("relu", 2, 1), x, strategy="reverse")
    with pytest.raises(ValueError, match="reverse"):
        fwd(tiny("siren", 2, 1), x, laplacian=True, strategy="reverse")


@pytest.mark.parametrize("d", [1, 2, 3])
def test_hashgrid_falls_back_to_autograd(d):
    """hashgrid has no forward rules: mode='forward' refuses it, 'auto' gives autograd's numbers; its gradient is the
    finite-difference one and its per-axis second derivatives vanish (piecewise d-linear encoding, ReLU MLP), the
    mixed ones not."""
    model = tiny("hashgrid", d, 2)
    with torch.no_grad():
        model.net[0].tables.normal_()                   # O(1) features instead of the 1e-4 init
    x = points(d, n=20)
    with pytest.raises(ValueError, match="forward"):
        derivatives(model, x, gradient=True, mode="forward")
    auto = derivatives(model, x, gradient=True, hessian=True)
    ref = derivatives(model, x, gradient=True, hessian=True, mode="autograd")
    assert torch.equal(auto.value, ref.value) and torch.equal(auto.gradient, ref.gradient)
    assert torch.equal(auto.hessian, ref.hessian)
    eps = 1e-8
    fd = torch.stack([(model(x + eps * e) - model(x - eps * e)) / (2 * eps) for e in torch.eye(d, dtype=x.dtype)], -1)
    assert rel_err(auto.gradient, fd) < 1e-5
    scale = auto.gradient.abs().max()
    assert auto.hessian_diagonal.abs().max() < 1e-10 * scale
    if d > 1:
        assert auto.hessian.abs().max() > 1e-3 * scale


def test_auto_uses_forward_path_on_supported_models():
    model = tiny("siren", 2, 1)
    x = points(2, n=8)
    v, g, lap = value_and_derivatives(model, x, gradient=True, laplacian=True)
    v2, g2, l2 = fwd(model, x, gradient=True, laplacian=True)
    assert torch.equal(v, v2) and torch.equal(g, g2) and torch.equal(lap, l2)
    assert not x.requires_grad                      # the forward path needs no grad on the coordinates


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    model = tiny("siren", 2, 3)
    x = points(2)
    cpu = fwd(model, x, gradient=True, laplacian=True)
    gpu = fwd(model.cuda(), x.cuda(), gradient=True, laplacian=True)
    for a, b in zip(gpu, cpu):
        assert a.device.type == "cuda" and rel_err(a.cpu(), b) < 1e-10


GROUPS = {1: [(0,)], 2: [(0,), (1,), (0, 1)], 3: [(0,), (1, 2), (0, 2)]}


def reference_hessian(model, x):
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    return y, ag.gradient(y, x), ag.hessian(y, x)


@pytest.mark.parametrize("name", FORWARD_NAMES)
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("c", [1, 2])
def test_axis_groups_and_hessians_match_autograd_float64(name, d, c):
    """Laplacians over axis groups, the Hessian diagonal and the full Hessian == autograd's Hessian, both paths."""
    model = tiny(name, d, c)
    x = points(d, n=30)
    _, g, hess = reference_hessian(model, x)
    diag = hess.diagonal(dim1=-2, dim2=-1)
    for fused in (True, False):
        for request in (Request(laplacian=GROUPS[d]), Request(gradient=True, laplacian=GROUPS[d], hessian_diagonal=True),
                        Request(hessian=True)):
            out = forward_derivatives(model, x, request, fused=fused)
            assert (out.gradient is None) != request.gradient
            for group in GROUPS[d] if request.groups else ():
                assert rel_err(out.laplacian(group), diag[..., list(group)].sum(-1)) < 1e-10
            if request.hessian_diagonal or request.hessian:
                assert out.hessian_diagonal.shape == (30, c, d)
                assert rel_err(out.hessian_diagonal, diag) < 1e-10
            if request.hessian:
                assert rel_err(out.hessian, hess) < 1e-10
                auto = derivatives(model, x, request, mode="autograd")
                assert rel_err(auto.hessian, hess) < 1e-12


@pytest.mark.parametrize("name", FORWARD_NAMES)
@pytest.mark.parametrize("request_", [Request(gradient=True, laplacian=[(0,), (1, 2)]),
                                      Request(hessian_diagonal=True), Request(hessian=True)],
                         ids=["wave-groups", "hessian-diagonal", "hessian"])
def test_parameter_gradients_match_for_second_order_requests(name, request_):
    """Losses on axis-group Laplacians / Hessian entries: forward-mode parameter gradients == autograd's."""
    d, c = 3, 2
    model = tiny(name, d, c)
    x = points(d, n=25)
    gen = torch.Generator().manual_seed(5)
    results = []
    for mode in ("autograd", "forward"):
        gen.manual_seed(5)
        model.zero_grad(set_to_none=True)
        out = derivatives(model, x, request_, mode=mode)
        loss = out.value.sin().sum()
        if request_.gradient:
            loss = loss + (out.gradient * torch.randn(out.gradient.shape, generator=gen, dtype=torch.float64)).sum()
        for group in request_.groups:
            loss = loss + (out.laplacian(group) - 1).pow(2).mean() * len(group)
        if request_.hessian_diagonal:
            loss = loss + out.hessian_diagonal.pow(2).mean()
        if request_.hessian:
            loss = loss + (out.hessian * torch.randn(out.hessian.shape, generator=gen, dtype=torch.float64)).sum()
        loss.backward()
        results.append((loss.item(), [torch.zeros_like(p) if p.grad is None else p.grad.clone()
                                      for p in model.parameters()]))
    (l_ref, g_ref), (l_fwd, g_fwd) = results
    assert abs(l_ref - l_fwd) <= 1e-10 * abs(l_ref)
    for a, b in zip(g_fwd, g_ref):
        assert rel_err(a, b) < 1e-9


def test_request_errors():
    model, x = tiny("siren", 2, 1), points(2, n=5)
    with pytest.raises(ValueError, match="dimension 2"):
        derivatives(model, x, laplacian=(0, 2))
    with pytest.raises(ValueError, match="not requested"):
        derivatives(model, x, laplacian=(0,)).laplacian((1,))
    with pytest.raises(ValueError, match="not both"):
        derivatives(model, x, Request(gradient=True), gradient=True)
    out = derivatives(model, x, hessian_diagonal=True)    # any Laplacian follows from the diagonal
    assert torch.allclose(out.laplacian(), out.hessian_diagonal.sum(-1))


@pytest.mark.parametrize("name", ["siren", "relu_pe", "tanh"])
def test_inference_equals_the_module_without_a_graph(name):
    """diff.inference: in place through gemm on SIREN chains (every layer, sine-last included), the module's own
    forward otherwise; no graph either way; leading dimensions kept."""
    torch.manual_seed(0)
    model = build_model(name, 3, 2, hidden_features=32, hidden_layers=2)
    x = torch.rand(5, 40, 3) * 2 - 1
    got = inference(model, x)
    assert got.shape == (5, 40, 2) and not got.requires_grad
    assert torch.allclose(got, model(x.reshape(-1, 3)).reshape(5, 40, 2), rtol=1e-5, atol=1e-6)
    sine_last = Siren(3, 32, 1, 1, outermost_linear=False)
    assert torch.allclose(inference(sine_last, x), sine_last(x), rtol=1e-5, atol=1e-6)


ACTIVATIONS = [A.Sine(7.0), A.FinerSine(3.0), A.Gaussian(2.0), A.Gabor(5.0, 2.0), A.Tanh(), A.Sigmoid(),
               A.Softplus(), A.ELU(), A.SELU(), A.ReLU()]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: type(a).__name__)
def test_activation_derivatives_up_to_third_order_equal_autograd(act):
    """f', f'' and f^(3) of each activation (given by hand or composed by Taylor arithmetic; the fused layers'
    forward and backward use them) against autograd of f itself, float64, away from kinks at z = 0; and the
    composed terms (Taylor arithmetic on `fn`) equal the given ones."""
    from siren.models.taylor import derivatives_of
    z = torch.linspace(-0.3, 0.3, 41, dtype=torch.float64)
    z = z[z.abs() > 1e-3].requires_grad_(True)
    out, ref = act.taylor(z, 3), [act(z)]
    for _ in range(3):
        g = torch.autograd.grad(ref[-1].sum(), z, create_graph=True, allow_unused=True)[0]
        ref.append(torch.zeros_like(z) if g is None else g)
    composed = derivatives_of(act.fn, z, 3)
    for k in range(4):
        got = torch.zeros_like(z) if out[k] is None else out[k]
        assert rel_err(got, ref[k]) < 1e-10 or (ref[k].abs().max() < 1e-12 and got.abs().max() < 1e-12), k
        other = torch.zeros_like(z) if composed[k] is None else composed[k]
        assert rel_err(other, ref[k]) < 1e-10 or (ref[k].abs().max() < 1e-12 and other.abs().max() < 1e-12), k
