"""The one coordinate-MLP stack every family builds on, and the paper's baseline MLPs.

    CoordinateMLP(in, hidden_features, hidden_layers, out, activation)
        coords (..., in) -> [encoding] -> (hidden_layers + 1) x [W h + b (+ shift) -> activation(i)] -> linear out

`activation(i)` gives layer i's `Activation` (i = 0 the first layer; the output layer's init is that of
activation(hidden_layers)). Each hidden layer is an `ActivatedLinear`, or with `split=True` an nn.Linear and the
activation as two modules of `net` (the baselines' layout). `Siren`, `Finer`, `Gauss`, `Wire` and `MLP` are this
stack with their activations.

Modulation (FiLM shifts, as functa and siren-pytorch): with latent_features L > 0 every hidden pre-activation gets a
shift, [s_0, ..., s_hidden_layers] = M z + m (M: (hidden_layers + 1) hidden_features x L; m starts at zero, so
z = 0 is the unmodulated network). The latent z is an input, not a weight: forward(coords, latent) with latent (L,)
for every point, (*lead, L) one per point of coords (*lead, d), or (B, L) one per signal of coords (B, N, d).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .activations import BASELINES, Activation
from .layers import ActivatedLinear

__all__ = ["CoordinateMLP", "MLP"]


class CoordinateMLP(nn.Module):
    """See the module docstring. coords (..., in_features) -> (..., out_features). `last`: an output layer built
    by the caller (default: nn.Linear(hidden, out) with activation(hidden_layers)'s init, or an activated layer
    when outermost_linear is False)."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 activation: Callable[[int], Activation] | None = None, *, encoding: nn.Module | None = None,
                 outermost_linear: bool = True, split: bool = False, latent_features: int = 0,
                 last: nn.Module | None = None):
        super().__init__()
        if hidden_layers < 0 or hidden_features < 1 or in_features < 1 or out_features < 1 or latent_features < 0:
            raise ValueError(f"{type(self).__name__} needs in/out/hidden_features >= 1, hidden_layers >= 0 and "
                             "latent_features >= 0")
        self.in_features, self.out_features, self.hidden_features = in_features, out_features, hidden_features
        self.latent_features, self.split = latent_features, split
        layers: list[nn.Module] = [] if encoding is None else [encoding]
        width = in_features if encoding is None else encoding.out_features
        self._shifted = []                          # indices in net of the modules whose output gets a shift
        for i in range(hidden_layers + 1):
            act = activation(i)
            self._shifted.append(len(layers))
            if split:
                lin = nn.Linear(width, hidden_features)
                act.init_(lin, i == 0)
                layers += [lin, act]
            else:
                layers.append(ActivatedLinear(width, hidden_features, act, is_first=i == 0))
            width = hidden_features
        if last is None and outermost_linear:
            last = nn.Linear(width, out_features)
            activation(hidden_layers).init_(last, False)
        elif last is None:
            last = ActivatedLinear(width, out_features, activation(hidden_layers))
        layers.append(last)
        self.net = nn.Sequential(*layers)
        self.modulation = None
        if latent_features:
            self.modulation = nn.Linear(latent_features, hidden_features * (hidden_layers + 1))
            nn.init.zeros_(self.modulation.bias)

    def shifts(self, latent: torch.Tensor | None, coords: torch.Tensor) -> dict:
        """{index in net: FiLM shift (..., hidden_features)} for `latent` (None: the zero latent)."""
        if self.modulation is None:
            if latent is not None:
                raise ValueError(f"this {type(self).__name__} takes no latent (build it with latent_features > 0)")
            return {}
        if latent is None:
            flat = self.modulation.bias
        else:
            if latent.shape[-1] != self.latent_features:
                raise ValueError(f"latent of size {latent.shape[-1]} for a network with latent_features "
                                 f"{self.latent_features}")
            flat = self.modulation(latent)
            if 2 <= latent.dim() == coords.dim() - 1:       # one latent per signal of coords (B, N, d)
                flat = flat.unsqueeze(-2)
        return dict(zip(self._shifted, flat.split(self.hidden_features, dim=-1)))

    def forward(self, coords: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        if self.modulation is None and latent is None:
            return self.net(coords)
        shifts = self.shifts(latent, coords)
        h = coords
        for k, m in enumerate(self.net):
            s = shifts.get(k)
            h = m(h) if s is None else (m(h) + s if self.split else m(h, s))
        return h


class MLP(CoordinateMLP):
    """A baseline MLP of the paper (`activation`: relu, tanh, softplus, elu, selu, sigmoid), optionally behind an
    input encoding, with the paper's per-activation init (`siren.models.activations`); biases keep PyTorch's.
    Layer count matches Siren(in, hidden, hidden_layers, out)."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 activation: str = "relu", encoding: nn.Module | None = None, latent_features: int = 0):
        if activation not in BASELINES:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(BASELINES)}")
        self.activation = activation
        super().__init__(in_features, hidden_features, hidden_layers, out_features, lambda i: BASELINES[activation](),
                         encoding=encoding, split=True, latent_features=latent_features)
