"""Batched (functional) SIREN: B independent SIRENs evaluated as one model with batched matrix products.

Member b is exactly `Siren`'s function with its own parameters (W_{b,i}, c_{b,i}):

    h_0 = x_b,   h_{i+1} = sin(omega_i (h_i W_{b,i}^T + c_{b,i})),   y_b = h_n W_{b,n}^T + c_{b,n}

Layer i stores W_i: (B, out_i, in_i) and c_i: (B, out_i), and all B members run in one `torch.baddbmm` per layer,
so a step over B signals costs one set of kernel launches instead of B. The members share no parameter: the
gradient of sum_b loss_b w.r.t. member b's parameters is the gradient of loss_b alone, and Adam acts element by
element, so training the batch on sum_b loss_b takes, for every member, the same steps as training it alone.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import ActivatedLinear
from .sine import Siren

__all__ = ["siren_forward", "BatchedSiren"]


def siren_forward(coords: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
                  omegas: Sequence[float | None]) -> torch.Tensor:
    """Functional batched SIREN.

    coords: (B, N, in), or (N, in) shared by all members; weights[i]: (B, out_i, in_i); biases[i]: (B, out_i);
    omegas[i]: the omega of layer i's sine, or None for a linear layer -> (B, N, out_last).
    Layer i: h -> sin(h (omega_i W_i)^T + omega_i c_i) (or h W_i^T + c_i when omega_i is None): omega is folded
    into the parameters, as `siren.diff`'s fused layers do, instead of scaling every activation.
    """
    h = coords.expand(weights[0].shape[0], *coords.shape) if coords.dim() == 2 else coords
    for w, c, omega in zip(weights, biases, omegas, strict=True):
        if omega is not None:
            w, c = w * omega, c * omega
        h = torch.baddbmm(c.unsqueeze(1), h, w.transpose(1, 2))
        if omega is not None:
            h = torch.sin(h)
    return h


def _linears(siren: Siren) -> list[nn.Linear]:
    """The nn.Linear of every layer of a Siren, first to last."""
    return [m.linear if isinstance(m, ActivatedLinear) else m for m in siren.net]


class BatchedSiren(nn.Module):
    """`num_signals` independent SIRENs of one architecture.  coords: (B, N, in) or (N, in) -> (B, N, out).

    Options as `Siren`. Init: member b is initialised exactly as a `Siren` built right after
    `torch.manual_seed(seeds[b])` (so seeding members by their global index makes the init independent of how the
    signals are split into batches or across processes); with seeds=None the members are B Sirens built one after
    the other from the global random stream.
    """

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, outermost_linear: bool = True,
                 num_signals: int = 1, seeds: Sequence[int] | None = None):
        super().__init__()
        if num_signals < 1:
            raise ValueError(f"num_signals must be at least 1, got {num_signals}")
        if seeds is not None and len(seeds) != num_signals:
            raise ValueError(f"got {len(seeds)} seeds for {num_signals} signals (give one seed per signal)")
        self.options = dict(in_features=in_features, hidden_features=hidden_features, hidden_layers=hidden_layers,
                            out_features=out_features, first_omega_0=first_omega_0, hidden_omega_0=hidden_omega_0,
                            outermost_linear=outermost_linear)
        self.in_features, self.out_features, self.num_signals = in_features, out_features, num_signals
        self.omegas = [float(first_omega_0)] + [float(hidden_omega_0)] * hidden_layers \
            + [None if outermost_linear else float(hidden_omega_0)]
        members = [self._seeded_siren(None if seeds is None else seeds[b]) for b in range(num_signals)]
        layers = [_linears(m) for m in members]
        self.weights = nn.ParameterList([nn.Parameter(torch.stack([ls[i].weight.detach() for ls in layers]))
                                         for i in range(len(self.omegas))])
        self.biases = nn.ParameterList([nn.Parameter(torch.stack([ls[i].bias.detach() for ls in layers]))
                                        for i in range(len(self.omegas))])

    def _seeded_siren(self, seed: int | None) -> Siren:
        if seed is None:
            return Siren(**self.options)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return Siren(**self.options)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return siren_forward(coords, list(self.weights), list(self.biases), self.omegas)

    @torch.no_grad()
    def load_members(self, sirens: Sequence[Siren]) -> BatchedSiren:
        """Copy the parameters of B Sirens of this architecture into members 0..B-1; returns self."""
        if len(sirens) != self.num_signals:
            raise ValueError(f"got {len(sirens)} Sirens for {self.num_signals} members")
        for b, siren in enumerate(sirens):
            for lin, w, c in zip(_linears(siren), self.weights, self.biases, strict=True):
                w[b].copy_(lin.weight)
                c[b].copy_(lin.bias)
        return self

    @torch.no_grad()
    def member(self, b: int) -> Siren:
        """Member b as a standalone `Siren` (with a `spec`, on this model's device and dtype): the same function, copied."""
        from . import build_model
        with torch.random.fork_rng(devices=[]):
            siren = build_model("siren", self.in_features, self.out_features,
                                **{k: v for k, v in self.options.items() if k not in ("in_features", "out_features")})
        siren.to(self.weights[0].device, self.weights[0].dtype)
        for lin, w, c in zip(_linears(siren), self.weights, self.biases, strict=True):
            lin.weight.copy_(w[b])
            lin.bias.copy_(c[b])
        return siren

    def extra_repr(self) -> str:
        return f"num_signals={self.num_signals}, omegas={self.omegas}"
