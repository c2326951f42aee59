"""The codec's training kernels equal the plain operations, values and gradients (float64 autograd): the blocked
MLP the layer-by-layer product, `conv3x3` `F.conv2d`."""
import torch
import torch.nn.functional as F

from siren.codec import blocked
from siren.codec.conv import conv3x3


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


def test_conv3x3_matches_autograd():
    g = torch.Generator().manual_seed(1)
    x, w, b = (torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
               for s in ((2, 3, 11, 14), (4, 3, 3, 3), (4,)))
    upstream = torch.randn(2, 4, 9, 12, generator=g, dtype=torch.float64)
    want = F.conv2d(x, w, b)
    got = conv3x3(x, w, b)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
    for a, c in zip(torch.autograd.grad((got * upstream).sum(), (x, w, b)),
                    torch.autograd.grad((want * upstream).sum(), (x, w, b))):
        assert torch.allclose(a, c, rtol=0, atol=1e-10)
