"""What a residual reads, in the user's units: the chain rule of the box map and the product rule of a hard
constraint, against autograd in float64 on the physical coordinates."""
import torch

from siren.models import build_model
from siren.problem import Field, Hard, Problem, Rectangle, Residual
from siren.problem.live import Live


def _autograd(fn, x):
    """value, gradient (N, d), Hessian (N, d, d) of fn: (N, d) -> (N,)."""
    x = x.clone().requires_grad_()
    u = fn(x)
    g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    h = torch.stack([torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0] for i in range(x.shape[1])], 1)
    return u.detach(), g.detach(), h.detach()


def test_chain_and_product_rules_match_autograd():
    torch.manual_seed(0)
    lo, hi = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64), torch.tensor([3.0, 1.0, 2.5], dtype=torch.float64)
    box = Rectangle(lo.tolist(), hi.tolist())
    g = lambda p: p.x * p.y  # noqa: E731
    d = lambda p: (p.z - 2.0) * torch.sin(p.x)  # noqa: E731
    reads = lambda v: torch.stack([v.laplacian("u", ("x", "y")), v.d("u", "x", "z"), v.d("w", "y"),  # noqa: E731
                                   v.laplacian("w"), v.d("k", "x")], -1)
    pb = Problem(box, outputs=("u", "w"), constraints={"pde": Residual(reads)},
                 unknowns={"k": Field(("x",), hidden_features=8, hidden_layers=1)}, hard={"u": Hard(g, d)})
    pb.compile()
    net = build_model("siren", 3, 2, hidden_features=16, hidden_layers=2).double()
    k = pb.fields["k"].model.double()
    x = lo + (hi - lo) * torch.rand(7, 3, dtype=torch.float64)
    z = lambda x: 2 * (x - lo) / (hi - lo) - 1  # noqa: E731
    live = Live(pb, x, {"solution": net, "k": k}, pb.requests["pde"])
    u, gu, hu = _autograd(lambda x: x[:, 0] * x[:, 1] + (x[:, 2] - 2) * torch.sin(x[:, 0]) * net(z(x))[:, 0], x)
    _, gw, hw = _autograd(lambda x: net(z(x))[:, 1], x)
    _, gk, _ = _autograd(lambda x: k(z(x)[:, :1])[:, 0], x)
    close = lambda a, b: torch.allclose(a.detach(), b, rtol=1e-9, atol=1e-9)  # noqa: E731
    assert close(live.value("u"), u)
    assert close(live.laplacian("u", (0, 1)), hu[:, 0, 0] + hu[:, 1, 1])
    assert close(live.d2("u", 0, 2), hu[:, 0, 2])
    assert close(live.d1("w", 1), gw[:, 1])
    assert close(live.laplacian("w", (0, 1, 2)), hw.diagonal(dim1=1, dim2=2).sum(-1))
    assert close(live.d1("k", 0), gk[:, 0])
