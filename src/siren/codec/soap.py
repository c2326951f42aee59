"""SOAP (Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam"): Adam run in the eigenbasis of a
Shampoo preconditioner, for the latent-grid codec's small networks (Cool-chic 5 trains its networks with it).

For a parameter W with gradient G (any number of dimensions), each dimension d of size 2 .. MAX_DIM keeps a factor
P_d <- b2 P_d + (1 - b2) G_(d) G_(d)^T (G_(d): G with dimension d first, the others flattened) and an orthonormal
basis Q_d of its eigenvectors, refreshed every `precondition_frequency` steps (one power iteration and a QR, the
columns sorted by their eigenvalue estimates). Writing rot(X) for X multiplied by Q_d^T along every preconditioned
dimension d and unrot for the inverse,

    M <- b1 M + (1 - b1) rot(G),   V <- b2 V + (1 - b2) rot(G)^2
    W <- W (1 - lr wd) - lr sqrt(1 - b2^t) / (1 - b1^t) unrot(M / (sqrt(V) + eps))

M is carried into each new basis (unrot with the old, rot with the new); V follows the sorting of the columns.
Parameters with no preconditioned dimension (biases, latents) get Adam (the same update with rot the identity).
"""
from __future__ import annotations

import torch

__all__ = ["Soap"]

MAX_DIM = 256


def _turn(x: torch.Tensor, bases: list[torch.Tensor | None], back: bool) -> torch.Tensor:
    """x multiplied along each dimension d by bases[d]^T (back: by bases[d]); None leaves that dimension."""
    for q in bases:
        x = x.movedim(0, -1) if q is None else torch.tensordot(x, q, dims=([0], [1 if back else 0]))
    return x


def _factor(g: torch.Tensor, d: int) -> torch.Tensor:
    m = g.movedim(d, 0).reshape(g.shape[d], -1)
    return m @ m.T


class Soap(torch.optim.Optimizer):
    """SOAP on parameters with a dimension of 2 .. MAX_DIM entries, Adam on the others (module docstring). Each group
    may set lr, betas, eps, weight_decay, precondition_frequency and precondition (False: Adam for all)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.95, 0.95), eps: float = 1e-8,
                 weight_decay: float = 0.0, precondition_frequency: int = 10, precondition: bool = True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      precondition_frequency=precondition_frequency, precondition=precondition))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if not state:
                    use = [group["precondition"] and 2 <= n <= MAX_DIM for n in g.shape]
                    state.update(t=0, factors=[_factor(g, d) if u else None for d, u in enumerate(use)])
                    state["bases"] = [None if f is None else torch.linalg.eigh(f)[1]
                                      .flip(1) for f in state["factors"]]
                    state["m"], state["v"] = torch.zeros_like(g), torch.zeros_like(g)
                state["t"] += 1
                t, bases = state["t"], state["bases"]
                r = _turn(g, bases, back=False)
                state["m"].mul_(b1).add_(r, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(r, r, value=1 - b2)
                size = group["lr"] * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(_turn(state["m"] / (state["v"].sqrt() + group["eps"]), bases, back=True), alpha=-size)
                for d, f in enumerate(state["factors"]):
                    if f is not None:
                        f.mul_(b2).add_(_factor(g, d), alpha=1 - b2)
                if t % group["precondition_frequency"] == 0 and any(f is not None for f in state["factors"]):
                    self._refresh(state)

    @staticmethod
    def _refresh(state: dict) -> None:
        """New bases: one power iteration and a QR on each factor, columns sorted by eigenvalue estimate; M carried
        into them, V's entries permuted with the columns."""
        m = _turn(state["m"], state["bases"], back=True)
        for d, (f, q) in enumerate(zip(state["factors"], state["bases"])):
            if f is None:
                continue
            order = torch.argsort(torch.diagonal(q.T @ f @ q), descending=True)
            state["v"] = state["v"].index_select(d, order)
            state["bases"][d] = torch.linalg.qr(f @ q[:, order])[0]
        state["m"] = _turn(m, state["bases"], back=False)
