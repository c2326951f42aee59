"""Networks mapping coordinates to values, behind one registry: build_model(name, in_features, out_features, **options).

Every model stores its spec in `model.spec` = {"name", "in_features", "out_features", "options"} so a checkpoint
can rebuild it (see `model_from_spec`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch import nn

from ..errors import SirenError
from ..options import option

from .encodings import FourierFeatures, PositionalEncoding, RBFLayer, nyquist_frequencies
from .batched import BatchedSiren
from .hyper import PRIOR_BUILDERS
from .mlp import ACTIVATIONS, MLP
from .sine import SineLayer, Siren

__all__ = ["Siren", "SineLayer", "MLP", "PositionalEncoding", "FourierFeatures", "RBFLayer", "build_model",
           "model_from_spec", "MODEL_NAMES", "nyquist_frequencies", "BatchedSiren", "ModelConfig"]


def _relu_pe(in_features, out_features, num_frequencies=None, sidelength=256, **mlp):
    """ReLU MLP on NeRF positional encoding; bands by the paper's rule: 10 for 3-D, else floor(log2(sidelength/4))."""
    if num_frequencies is None:
        side = min(sidelength) if isinstance(sidelength, (list, tuple)) else sidelength
        num_frequencies = 10 if in_features >= 3 else nyquist_frequencies(side)
    return MLP(in_features, out_features=out_features, activation="relu",
               encoding=PositionalEncoding(in_features, num_frequencies), **mlp)


def _rff(in_features, out_features, num_features=256, scale=10.0, **mlp):
    """ReLU MLP on Gaussian random Fourier features."""
    return MLP(in_features, out_features=out_features, activation="relu",
               encoding=FourierFeatures(in_features, num_features, scale), **mlp)


def _rbf(in_features, out_features, num_centres=1024, sigma=10.0, **mlp):
    """ReLU MLP on an RBF layer (the paper: 1024 centres, sigma 10)."""
    return MLP(in_features, out_features=out_features, activation="relu",
               encoding=RBFLayer(in_features, num_centres, sigma), **mlp)


def _siren(in_features, out_features, **options):
    return Siren(in_features, out_features=out_features, **options)


def _siren_batch(in_features, out_features, **options):
    return BatchedSiren(in_features, out_features=out_features, **options)


def _plain(activation):
    def build(in_features, out_features, **mlp):
        return MLP(in_features, out_features=out_features, activation=activation, **mlp)
    build.__doc__ = f"{activation} MLP with the paper's init."
    return build


_MLP_OPTIONS = ("hidden_features", "hidden_layers")
_BUILDERS = {"siren": _siren, "relu_pe": _relu_pe, "rff": _rff, "rbf": _rbf,
             **{a: _plain(a) for a in ACTIVATIONS}}
MODEL_NAMES = tuple(_BUILDERS)  # coords (N, d) -> (N, C)
_BUILDERS["siren_batch"] = _siren_batch  # B signals at once: (B, N, d) -> (B, N, C), see batched.BatchedSiren
_BUILDERS.update(PRIOR_BUILDERS)  # hyper_set, hyper_cnn, cnp: image context -> function, see hyper.py


def _allowed(name: str) -> set[str]:
    builder = _BUILDERS[name]
    if name in ("siren", "siren_batch"):
        params = inspect.signature((Siren if name == "siren" else BatchedSiren).__init__).parameters
        return set(params) - {"self", "in_features", "out_features"}
    params = inspect.signature(builder).parameters
    return (set(params) - {"in_features", "out_features", "mlp"}) | set(_MLP_OPTIONS)


def build_model(name: str, in_features: int, out_features: int, **options) -> nn.Module:
    """Build a network by name: one of MODEL_NAMES. Unknown names or options raise ValueError (never ignored).

    Common options: hidden_features (256), hidden_layers (3). siren: first_omega_0, hidden_omega_0,
    outermost_linear. relu_pe: num_frequencies or sidelength. rff: num_features, scale. rbf: num_centres, sigma.
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r} (choose from {', '.join(MODEL_NAMES)})")
    unknown = set(options) - _allowed(name)
    if unknown:
        raise ValueError(f"model {name!r} takes no option {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(sorted(_allowed(name)))})")
    model = _BUILDERS[name](in_features, out_features, **options)
    model.spec = {"name": name, "in_features": in_features, "out_features": out_features, "options": dict(options)}
    return model


def model_from_spec(spec: dict) -> nn.Module:
    """Rebuild an (untrained) model from `model.spec`."""
    return build_model(spec["name"], spec["in_features"], spec["out_features"], **spec["options"])


@dataclass
class ModelConfig:
    """The network of a run, as the CLI names it: a registry name and the common options (None: the model's or the
    task's default). `options()` -> the build_model keywords."""
    model: str = option("siren", f"network: {', '.join(MODEL_NAMES)}", choices=list(MODEL_NAMES), metavar="NAME")
    hidden_features: int | None = option(None, "width of hidden layers (default 256)")
    hidden_layers: int | None = option(None, "hidden layers after the first (default 3)")
    first_omega: float | None = option(None, "siren: omega_0 of the first layer (default 30, audio 3000)")
    hidden_omega: float | None = option(None, "siren: omega_0 of hidden layers (default 30)")

    def options(self) -> dict:
        names = {"hidden_features": "hidden_features", "hidden_layers": "hidden_layers",
                 "first_omega": "first_omega_0", "hidden_omega": "hidden_omega_0"}
        opts = {key: getattr(self, arg) for arg, key in names.items() if getattr(self, arg) is not None}
        if self.model not in _BUILDERS:
            raise SirenError(f"unknown model {self.model!r} (choose from {', '.join(MODEL_NAMES)})")
        if self.model != "siren" and ({"first_omega_0", "hidden_omega_0"} & set(opts)):
            raise SirenError(f"--first-omega/--hidden-omega apply to siren only, not {self.model}")
        return opts
