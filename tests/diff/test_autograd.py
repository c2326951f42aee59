"""siren.diff operators against closed-form derivatives."""
import torch

from siren import diff


class Analytic(torch.nn.Module):
    """f(x, y, z) = (sin(x) y^2, exp(z) + x y z): channels differ, so summing channels would be wrong."""

    def forward(self, p):
        x, y, z = p.unbind(-1)
        return torch.stack([torch.sin(x) * y ** 2, torch.exp(z) + x * y * z], -1)


def _points():
    return (torch.rand(20, 3, dtype=torch.float64) * 2 - 1).requires_grad_(True)


def test_gradient_jacobian_per_channel():
    p = _points()
    y = Analytic()(p)
    x, yy, z = p.detach().unbind(-1)
    expected = torch.stack([torch.stack([torch.cos(x) * yy ** 2, 2 * torch.sin(x) * yy, 0 * x], -1),
                            torch.stack([yy * z, x * z, torch.exp(z) + x * yy], -1)], 1)
    torch.testing.assert_close(diff.gradient(y, p), expected)
    torch.testing.assert_close(diff.jacobian(y, p), expected)


def test_laplacian_and_hessian():
    p = _points()
    y = Analytic()(p)
    x, yy, z = p.detach().unbind(-1)
    lap = torch.stack([-torch.sin(x) * yy ** 2 + 2 * torch.sin(x), torch.exp(z)], -1)
    torch.testing.assert_close(diff.laplacian(y, p), lap)
    h = diff.hessian(y, p)
    assert h.shape == (20, 2, 3, 3)
    torch.testing.assert_close(h[:, 0, 0, 1], 2 * torch.cos(x) * yy)
    torch.testing.assert_close(h[:, 1, 0, 1], z)
    torch.testing.assert_close(h, h.transpose(-1, -2))
    torch.testing.assert_close(torch.diagonal(h, dim1=-2, dim2=-1).sum(-1), lap)


def test_divergence_of_vector_field():
    p = _points()
    v = torch.stack([p[:, 0] ** 2, p[:, 0] * p[:, 1], torch.sin(p[:, 2])], -1)
    x, y, z = p.detach().unbind(-1)
    torch.testing.assert_close(diff.divergence(v, p), 2 * x + x + torch.cos(z))


def test_derivatives_are_differentiable_wrt_parameters():
    """A loss on the Laplacian has a parameter gradient equal to finite differences."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 1).double()
    p = _points()[:, :2].detach().requires_grad_(True)

    def loss():
        return diff.laplacian(torch.sin(lin(p)), p).pow(2).mean()

    loss().backward()
    g = lin.bias.grad.clone()
    eps = 1e-6
    with torch.no_grad():
        lin.bias += eps
    up = loss().item()
    with torch.no_grad():
        lin.bias -= 2 * eps
    down = loss().item()
    torch.testing.assert_close(g, torch.tensor([(up - down) / (2 * eps)], dtype=torch.float64), rtol=1e-5, atol=1e-8)


def test_value_and_derivatives_autograd_matches_operators():
    from siren.models import Siren
    m = Siren(2, 16, 1, 3).double()
    p = _points()[:, :2].detach().requires_grad_(True)
    v, g, lap = diff.value_and_derivatives(m, p, gradient=True, laplacian=True, mode="autograd")
    y = m(p)
    torch.testing.assert_close(v, y)
    torch.testing.assert_close(g, diff.gradient(y, p))
    torch.testing.assert_close(lap, diff.laplacian(y, p))
