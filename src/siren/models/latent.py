"""A modulated SIREN that carries its own latent: what a fit from a functa init trains (`siren meta train --method
functa`, then `siren fit image IMG --init RUN`).

    LatentSiren(in, hidden_features, hidden_layers, out, first_omega_0, hidden_omega_0, latent_features=L)
        coords (..., in) -> Siren(coords, z): the FiLM-modulated SIREN (`CoordinateMLP`, shifts M z + m) at the
        model's own latent z (L,) (parameter "latent", zero at the start: the base network itself)

The base weights (net, modulation) are frozen (requires_grad False): only z is trained. The buffer "rates" (L,)
holds z's per-dimension SGD learning rates (meta-SGD, learned by the meta-training): each backward pass ends with
z <- z - rates * dL/dz, done in place by a post-accumulate-grad hook (PyTorch's optimizer-in-backward pattern), and
z's .grad is cleared, so an outer optimizer (the training loop's Adam) leaves z alone. A rate of zero freezes its
dimension. Checkpoints hold net, modulation, latent and rates; `model_from_spec` rebuilds the model (kind "latent").
"""
from __future__ import annotations

import torch
from torch import nn

from .sine import Siren

__all__ = ["LatentSiren"]


def _sgd_step(latent: torch.Tensor) -> None:
    """Post-accumulate-grad hook of a LatentSiren's latent: z <- z - rates * grad, then no .grad."""
    rates = getattr(latent, "_siren_rates", None)
    if latent.grad is None or rates is None:
        return
    with torch.no_grad():
        latent.sub_(rates * latent.grad)
    latent.grad = None


class LatentSiren(Siren):
    """See the module docstring. forward(coords, latent=None): latent None uses the model's own z; another latent
    ((L,), or as `CoordinateMLP` takes it) evaluates the same base at that latent."""

    def __init__(self, in_features: int, hidden_features: int = 256, hidden_layers: int = 3, out_features: int = 1,
                 first_omega_0: float = 30.0, hidden_omega_0: float = 30.0, outermost_linear: bool = True,
                 latent_features: int = 64):
        if latent_features < 1:
            raise ValueError(f"a LatentSiren needs latent_features >= 1, got {latent_features}")
        super().__init__(in_features, hidden_features, hidden_layers, out_features, first_omega_0, hidden_omega_0,
                         outermost_linear, latent_features)
        for p in self.parameters():
            p.requires_grad_(False)
        self.latent = nn.Parameter(torch.zeros(latent_features))
        self.register_buffer("rates", torch.zeros(latent_features))
        self._hook()

    def _hook(self) -> None:
        """Point the latent's SGD hook at the rates buffer; register it on a latent that has none (a new one after
        deepcopy or load_state_dict(assign=True))."""
        self.latent._siren_rates = self.rates
        if not getattr(self.latent, "_siren_hooked", False):
            self.latent.register_post_accumulate_grad_hook(_sgd_step)
            self.latent._siren_hooked = True

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)            # .to(device) may replace the buffer: the hook follows it
        self._hook()
        return out

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._hook()

    @torch.no_grad()
    def load_base(self, base: Siren, rates: torch.Tensor) -> LatentSiren:
        """Copy a modulated Siren's weights (the base: net and modulation) and the latent's SGD rates (L,); the
        latent restarts at zero. Returns self."""
        self.load_state_dict({**base.state_dict(), "latent": torch.zeros_like(self.latent),
                              "rates": rates.to(self.rates)})
        return self

    def shifts(self, latent: torch.Tensor | None, coords: torch.Tensor) -> dict:
        if getattr(self.latent, "_siren_rates", None) is not self.rates:      # a copy: hook its latent
            self._hook()
        return super().shifts(self.latent if latent is None else latent, coords)

    def forward(self, coords: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(coords, self.latent if latent is None else latent)


def latent_fit(model: nn.Module, source: Siren, where: str, rates) -> LatentSiren:
    """The model a fit from the functa init `source` (a modulated Siren, the base) trains instead of `model` (the
    network the run built: a Siren of the same architecture, without a latent or with one of the base's size): a
    LatentSiren of the base whose latent starts at zero and takes SGD steps at `rates` (L,). One-line SirenErrors
    for another latent size or a batched model; `where` names the init."""
    from ..errors import SirenError
    from . import build_model
    size = getattr(model, "latent_features", None)
    if size is None or not isinstance(model, Siren):
        raise SirenError(f"{where} is a functa init (a modulated base whose latent is fitted per signal): it fits one "
                         f"image at a time, not a {type(model).__name__} (fit each image, or use `siren meta encode`)")
    if size not in (0, source.latent_features):
        raise SirenError(f"{where} has a latent of {source.latent_features} numbers but this run builds a network "
                         f"with latent_features {size} (leave latent_features out, or pass another --init)")
    rates = torch.as_tensor(rates, dtype=torch.float32).reshape(-1)
    if rates.numel() != source.latent_features:
        raise SirenError(f"{where} has {rates.numel()} learned rates for a latent of {source.latent_features} numbers "
                         f"(its checkpoint is damaged: meta-train it again)")
    spec = source.spec
    out = build_model(spec["name"], spec["in_features"], spec["out_features"], kind="latent", **spec["options"])
    return out.load_base(source, rates)
