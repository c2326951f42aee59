"""The SOAP optimizer of the latent-grid codec's networks: Adam where nothing is preconditioned, an orthonormal
eigenbasis of its factors, and convergence to the least-squares solution."""
import numpy as np
import pytest
import torch

from siren.codec.soap import Soap, _turn


def test_without_preconditioning_it_is_adam():
    torch.manual_seed(0)
    a, b = torch.randn(30, 5), torch.randn(30, 4)
    runs = []
    for make in (lambda w: Soap([w], lr=1e-2, betas=(0.9, 0.999), eps=0.0, precondition=False),
                 lambda w: torch.optim.Adam([w], lr=1e-2, betas=(0.9, 0.999), eps=0.0)):
        w = torch.full((5, 4), 0.1, dtype=torch.float64, requires_grad=True)
        opt = make(w)
        for _ in range(50):
            loss = ((a.double() @ w - b.double()) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        runs.append(w.detach().clone())
    assert torch.allclose(runs[0], runs[1], rtol=1e-10, atol=1e-12)


def test_rotation_round_trip_and_orthonormal_sorted_bases():
    torch.manual_seed(1)
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    bases = [torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0], None,
             torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))[0]]
    assert torch.allclose(_turn(_turn(x, bases, back=False), bases, back=True), x)
    # the rotation by Q^T along dimension 0 is Q^T x there
    assert torch.allclose(_turn(x, bases, back=False)[:, 0, :], bases[0].T @ x[:, 0, :] @ bases[2])
    w = torch.zeros(6, 4, dtype=torch.float64, requires_grad=True)
    opt = Soap([w], lr=1e-2, precondition_frequency=3)
    a, b = torch.randn(20, 6, dtype=torch.float64), torch.randn(20, 4, dtype=torch.float64)
    for _ in range(9):
        opt.zero_grad()
        ((a @ w - b) ** 2).sum().backward()
        opt.step()
    state = opt.state[w]
    for f, q in zip(state["factors"], state["bases"]):
        assert torch.allclose(q.T @ q, torch.eye(len(q), dtype=torch.float64), atol=1e-10)
        ev = torch.diagonal(q.T @ f @ q)
        assert torch.all(ev[:-1] >= ev[1:] - 1e-9 * ev.abs().max())


@pytest.mark.parametrize("shape", [(7, 3), (3, 3, 3, 3)])
def test_it_reaches_the_least_squares_solution(shape):
    """An ill-conditioned linear least-squares problem in the weights (a matrix, and a 4-d tensor like the codec's
    3 x 3 convolutions): the weights reach numpy's lstsq solution."""
    rng = np.random.default_rng(2)
    n = int(np.prod(shape))
    a = rng.normal(size=(4 * n, n)) * np.logspace(0, 1.5, n)
    target = rng.normal(size=4 * n)
    best = np.linalg.lstsq(a, target, rcond=None)[0]
    w = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    opt = Soap([w], lr=3e-2, betas=(0.9, 0.99))
    at, tt = torch.from_numpy(a), torch.from_numpy(target)
    for i in range(3000):
        for g in opt.param_groups:
            g["lr"] = 3e-2 * 0.5 * (1 + np.cos(np.pi * i / 3000))
        opt.zero_grad()
        ((at @ w.reshape(-1) - tt) ** 2).mean().backward()
        opt.step()
    residual = lambda x: np.mean((a @ x - target) ** 2)
    assert residual(w.detach().numpy().ravel()) < residual(best) * 1.001 + 1e-9
    assert np.allclose(w.detach().numpy().ravel(), best, atol=2e-2)
