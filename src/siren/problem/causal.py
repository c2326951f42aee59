"""Causal weighting in time of an evolution problem's residual (Wang, Sankaran and Perdikaris, "Respecting causality
is all you need for training physics-informed neural networks", 2022; as in their jaxpi code).

    Residual(fn, causal=Causal(eps=1.0, bins=32))            on a space-time domain (t: the last input)

The residual's points are put into M = bins equal bins of [t0, t1] by their time; bin i's loss is
L_i = mean of r^2 over its points (and a vector residual's components; 0 for an empty bin), its weight

    w_i = exp(-eps * sum_{j<i} L_j)        (w_0 = 1; detached: no gradient flows through the weights)

and the constraint's term is (1/M) sum_i w_i L_i: a later time counts once the earlier ones are solved. eps = 0
gives the mean of the bins' means (the plain mean square when the bins hold equally many points).
"""
from __future__ import annotations

import torch

from ..errors import SirenError
from .time import SpaceTime

__all__ = ["Causal"]


class Causal:
    """Causal weights for a `Residual` (see the module docstring)."""

    def __init__(self, eps: float = 1.0, bins: int = 32):
        if not (isinstance(bins, int) and bins > 0 and eps >= 0):
            raise SirenError(f"causal weighting needs bins a positive integer and eps >= 0, got bins = {bins!r}, "
                             f"eps = {eps!r}")
        self.eps, self.bins = float(eps), bins

    def weights(self, losses: torch.Tensor) -> torch.Tensor:
        """Bin losses L (M,) -> weights w (M,), w_i = exp(-eps sum_{j<i} L_j), detached."""
        losses = losses.detach()
        return torch.exp(-self.eps * (torch.cumsum(losses, 0) - losses))

    def bin_losses(self, r: torch.Tensor, t: torch.Tensor, t0: float, t1: float) -> torch.Tensor:
        """Residuals r (N,) or (N, k) at times t (N,) in [t0, t1] -> the bins' mean squares L (M,)."""
        r2 = (r.reshape(len(r), -1) ** 2).mean(1)
        idx = ((t.to(r2) - t0) / (t1 - t0) * self.bins).floor().clamp(0, self.bins - 1).long()
        sums = torch.zeros(self.bins, dtype=r2.dtype, device=r2.device).index_add(0, idx, r2)
        counts = torch.bincount(idx, minlength=self.bins).clamp_min(1).to(r2)
        return sums / counts

    def term(self, name: str, r: torch.Tensor, x: torch.Tensor, domain, shard: tuple[int, int] = (0, 1)):
        """The causally weighted term (0-dim) of constraint `name`'s residuals r at its points x (N, d)."""
        if not isinstance(domain, SpaceTime):
            raise SirenError(f"constraint {name!r}: causal weighting needs a space-time domain (space * "
                             "TimeInterval(t0, t1))")
        if shard[1] > 1:
            raise SirenError(f"constraint {name!r}: causal weighting does not run data-parallel yet (run it without "
                             "torchrun)")
        losses = self.bin_losses(r, x[:, -1].to(r.device), domain.time.t0, domain.time.t1)
        return (self.weights(losses) * losses).mean()
