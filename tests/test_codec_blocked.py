"""The blocked MLP equals the layer-by-layer product, values and gradients (float64 autograd)."""
import torch

from siren.codec import blocked


def test_blocked_mlp_matches_autograd(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK", 64)
    g = torch.Generator().manual_seed(0)
    widths = [5, 9, 7, 2]
    layers = [(torch.randn(b, a, generator=g, dtype=torch.float64, requires_grad=True),
               torch.randn(b, generator=g, dtype=torch.float64, requires_grad=True)) for a, b in zip(widths, widths[1:])]
    x = torch.randn(5, 3 * 64 + 37, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(2, x.shape[1], generator=g, dtype=torch.float64)

    def plain():
        h = x
        for i, (w, b) in enumerate(layers):
            h = w @ h + b[:, None]
            h = torch.relu(h) if i < len(layers) - 1 else h
        return h

    params = [x] + [t for layer in layers for t in layer]
    want = plain()
    ref = torch.autograd.grad((want * upstream).sum(), params)
    got = blocked.mlp(x, layers)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
    grads = torch.autograd.grad((got * upstream).sum(), params)
    for a, b in zip(grads, ref):
        assert torch.allclose(a, b, rtol=0, atol=1e-10)
