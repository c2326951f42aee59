"""Networks behind one registry per interface: build_model(name, in_features, out_features, kind=..., hints=...,
**options).

Kinds (the interface a task's `model_kind` asks for):
    "coordinates"  coords (N, d) -> (N, C): siren, the paper's baselines and later families (MODEL_NAMES): finer
                   (`finer.Finer`), gauss and wire (`wavelets`), hashgrid (`hashgrid.HashEncoding` + ReLU MLP)
    "batched"      B signals at once, (B, N, d) -> (B, N, C): "siren" (`batched.BatchedSiren`)
    "latent"       a modulated network with its own fitted latent, coords (N, d) -> (N, C): "siren"
                   (`latent.LatentSiren`: what a fit from a functa init trains; no task asks for it)
    "prior"        image context (B, H, W, C) + mask (B, H, W) -> `hyper.PriorOutput`: "set", "cnn", "cnp"

Hints: a task never names a model; it publishes facts about its problem (`Task.model_hints`), and each family takes
those named as one of its options and turns the others it understands into options (explicit options win):
    hidden_features  suggested hidden width                      -> every family
    first_omega_0    suggested omega_0 of a sine first layer     -> siren, finer, wire (the families with that option)
    bandwidth        angular frequency a first layer should span -> rff: scale = bandwidth / (2 pi sqrt 3), so
                     2 pi B spreads as a siren's first layer omega_0 U(-1, 1) (standard deviation omega_0 / sqrt 3)
    sidelength       samples along the signal's shortest axis    -> relu_pe: its number of bands (Nyquist rule)
    num_signals, first_index, seed   batched: B members, member b seeded by seed + first_index + b
    resolution       image side of a prior                       -> prior: resolution

Every model stores its spec in `model.spec` = {"kind", "name", "in_features", "out_features", "options"} (the
options after hints) so a checkpoint can rebuild it (`model_from_spec`).
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import SirenError
from ..options import option

from .activations import BASELINES, Activation, Sine
from .encodings import FourierFeatures, PositionalEncoding, RBFLayer, nyquist_frequencies
from .batched import BatchedSiren
from .finer import Finer
from .hashgrid import HashEncoding
from .hyper import PRIOR_BUILDERS
from .latent import LatentSiren
from .layers import ActivatedLinear, FinerLayer, GaborLayer, GaussLayer, SineLayer
from .mlp import MLP, CoordinateMLP
from .sine import Siren
from .wavelets import Gauss, Wire

__all__ = ["Siren", "SineLayer", "Sine", "Activation", "ActivatedLinear", "CoordinateMLP", "MLP",
           "PositionalEncoding", "FourierFeatures", "RBFLayer", "Finer", "FinerLayer", "Gauss", "GaussLayer", "Wire",
           "GaborLayer", "HashEncoding", "LatentSiren", "build_model", "model_from_spec", "MODEL_NAMES", "model_names",
           "KINDS", "REGISTRIES", "Family", "register_family", "nyquist_frequencies", "BatchedSiren", "ModelConfig",
           "PriorModelConfig", "MODEL_CONFIGS", "architecture", "apply_init"]


@dataclass(frozen=True)
class Family:
    """A registry entry: build(in_features, out_features, **options) -> nn.Module; reads(hints) -> the options it
    takes from a task's hints (besides the hints named as one of its options); options: the keywords build
    accepts."""
    build: Callable[..., nn.Module]
    reads: Callable[[dict], dict]
    options: frozenset


def _keywords(fn) -> set[str]:
    return set(inspect.signature(fn).parameters) - {"self", "in_features", "out_features", "mlp"}


def _none(hints: dict) -> dict:
    return {}


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


def _hashgrid(in_features, out_features, levels=8, table_size=2 ** 14, features_per_level=2, base_resolution=16,
              growth_factor=1.5, hidden_features=64, hidden_layers=1, latent_features=0):
    """ReLU MLP (the paper's: 2 hidden layers of 64) on a multiresolution hash encoding (`hashgrid.HashEncoding`)."""
    return MLP(in_features, hidden_features, hidden_layers, out_features, "relu",
               HashEncoding(in_features, levels, table_size, features_per_level, base_resolution, growth_factor),
               latent_features)


def _plain(activation):
    def build(in_features, out_features, **mlp):
        return MLP(in_features, out_features=out_features, activation=activation, **mlp)
    build.__doc__ = f"{activation} MLP with the paper's init."
    return build


_MLP_OPTIONS = {"hidden_features", "hidden_layers", "latent_features"}


def _mlp_family(build, reads=_none) -> Family:
    return Family(build, reads, frozenset(_keywords(build) | _MLP_OPTIONS))


def _module_family(cls, reads=_none) -> Family:
    """A family built by cls(in_features, out_features=..., **options), the options cls.__init__ takes."""
    return Family(lambda i, o, **kw: cls(i, out_features=o, **kw), reads, frozenset(_keywords(cls.__init__)))


def _pe_reads(hints: dict) -> dict:
    return {"sidelength": hints["sidelength"]} if "sidelength" in hints else {}


def _rff_reads(hints: dict) -> dict:
    return {"scale": hints["bandwidth"] / (2.0 * math.pi * math.sqrt(3.0))} if "bandwidth" in hints else {}


def _batched_reads(hints: dict) -> dict:
    if "num_signals" not in hints:
        return {}
    out = {"num_signals": hints["num_signals"]}
    if "seed" in hints:
        out["seeds"] = [hints["seed"] + hints.get("first_index", 0) + b for b in range(hints["num_signals"])]
    return out


def _prior_reads(hints: dict) -> dict:
    return {"resolution": hints["resolution"]} if "resolution" in hints else {}


COORDINATES = {"siren": _module_family(Siren),
               "relu_pe": _mlp_family(_relu_pe, _pe_reads), "rff": _mlp_family(_rff, _rff_reads),
               "rbf": _mlp_family(_rbf), **{a: _mlp_family(_plain(a)) for a in BASELINES},
               "finer": _module_family(Finer), "gauss": _module_family(Gauss),
               "wire": _module_family(Wire), "hashgrid": _mlp_family(_hashgrid)}
BATCHED = {"siren": _module_family(BatchedSiren, _batched_reads)}
LATENT = {"siren": _module_family(LatentSiren)}
PRIOR = {name: Family(build, _prior_reads, frozenset(_keywords(build) - {"encoder"}))
         for name, build in PRIOR_BUILDERS.items()}
REGISTRIES = {"coordinates": COORDINATES, "batched": BATCHED, "prior": PRIOR, "latent": LATENT}
KINDS = tuple(REGISTRIES)
MODEL_NAMES = tuple(COORDINATES)          # the built-in coordinate families; `model_names()` includes registered ones


def model_names() -> tuple[str, ...]:
    """The coordinate families now registered (the built-ins and those added by `register_family`)."""
    return tuple(COORDINATES)


def register_family(name: str, activation: Callable[..., Activation], reads: Callable[[dict], dict] = _none) -> None:
    """Register a coordinate family made of one activation: `build_model(name, ...)`, `--model name` on every
    command, checkpoints and `siren.diff`'s forward mode follow. activation(**options) -> the `Activation` of
    every hidden layer (its keyword options become the family's options, besides hidden_features,
    hidden_layers and latent_features); with keywords first_* and hidden_* (e.g. first_omega_0, hidden_omega_0)
    the first layer gets the first_* values. The network is `CoordinateMLP` with that activation's init."""
    if name in COORDINATES:
        raise ValueError(f"model {name!r} is already registered")
    params = _keywords(activation)

    def build(in_features, out_features, hidden_features=256, hidden_layers=3, latent_features=0, **options):
        first = {k[len("first_"):]: v for k, v in options.items() if k.startswith("first_")}
        hidden = {k[len("hidden_"):]: v for k, v in options.items() if k.startswith("hidden_")}
        rest = {k: v for k, v in options.items() if not k.startswith(("first_", "hidden_"))}
        return CoordinateMLP(in_features, hidden_features, hidden_layers, out_features,
                             lambda i: activation(**rest, **(first if i == 0 else hidden)),
                             latent_features=latent_features)
    pairs = {f"{side}_{p}" for p in params for side in ("first", "hidden")}
    COORDINATES[name] = Family(build, reads, frozenset(params | pairs | _MLP_OPTIONS))


def build_model(name: str, in_features: int, out_features: int, kind: str = "coordinates",
                hints: dict | None = None, **options) -> nn.Module:
    """Build the network `name` of the registry `kind` (see the module docstring), with the options its family reads
    from `hints` under the explicit `options`. Unknown kinds, names or options raise ValueError (never ignored).

    Common options: hidden_features (256), hidden_layers (3). siren: first_omega_0, hidden_omega_0,
    outermost_linear. relu_pe: num_frequencies or sidelength. rff: num_features, scale. rbf: num_centres, sigma.
    finer: first_omega_0, hidden_omega_0 (30), first_bias_scale. gauss: scale (10). wire: first_omega_0,
    hidden_omega_0 (20), scale (10). hashgrid: levels (8), table_size (2^14), features_per_level (2),
    base_resolution (16), growth_factor (1.5); hidden_features 64, hidden_layers 1.
    """
    if kind not in REGISTRIES:
        raise ValueError(f"unknown model kind {kind!r} (choose from {', '.join(KINDS)})")
    registry = REGISTRIES[kind]
    if name not in registry:
        raise ValueError(f"unknown model {name!r} of kind {kind} (choose from {', '.join(registry)})")
    family = registry[name]
    unknown = set(options) - family.options
    if unknown:
        raise ValueError(f"model {name!r} takes no option {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(sorted(family.options))})")
    hints = hints or {}
    options = {**{k: v for k, v in hints.items() if k in family.options}, **family.reads(hints), **options}
    model = family.build(in_features, out_features, **options)
    model.spec = {"kind": kind, "name": name, "in_features": in_features, "out_features": out_features,
                  "options": dict(options)}
    return model


def model_from_spec(spec: dict) -> nn.Module:
    """Rebuild an (untrained) model from `model.spec`."""
    kind, name = spec.get("kind", "coordinates"), spec["name"]
    return build_model(name, spec["in_features"], spec["out_features"], kind=kind, **spec["options"])


def architecture(model: nn.Module) -> dict:
    """What defines the function of a SIREN-family network (a `Siren`, or member 0 of a `BatchedSiren`):
    {"name", "in_features", "out_features", "hidden_features", "hidden_layers", "first_omega_0", "hidden_omega_0"
    (None when no sine layer uses it), "outermost_linear"}; {"name": spec name} for any other network."""
    if isinstance(model, BatchedSiren):
        model = model.member(0)
    if not isinstance(model, Siren):
        return {"name": (getattr(model, "spec", None) or {}).get("name", type(model).__name__)}
    first, rest = model.net[0], [m for m in model.net[1:] if isinstance(m, ActivatedLinear)]
    return {"name": "siren", "in_features": model.in_features, "out_features": model.out_features,
            "hidden_features": first.linear.out_features, "hidden_layers": len(model.net) - 2,
            "first_omega_0": first.omega_0, "hidden_omega_0": rest[0].omega_0 if rest else None,
            "outermost_linear": isinstance(model.net[-1], nn.Linear)}


def _described(arch: dict) -> str:
    if "hidden_features" not in arch:
        return f"a {arch['name']} network"
    return (f"a {arch['name']} {arch['in_features']} -> {arch['out_features']}, width {arch['hidden_features']}, "
            f"{arch['hidden_layers']} hidden layers, omega_0 {arch['first_omega_0']:g}/{arch['hidden_omega_0'] or '-'}")


@torch.no_grad()
def apply_init(model: nn.Module, source: nn.Module, where: str, rates=None) -> nn.Module:
    """Copy the learned initialization `source` (a one-member `BatchedSiren`: the theta of `siren meta train`)
    into `model`: a `Siren` gets member 0, a `BatchedSiren` gets it in every member. A different architecture
    (`architecture`) is a one-line SirenError naming both; `where` names the init in it (e.g. its path).
    Returns the model to train: `model`, or for a functa init (`source` a modulated Siren, the base of `siren meta
    train --method functa`) a `LatentSiren` of that base whose latent alone is fitted, by SGD at `rates` (L,)
    (`latent.latent_fit`)."""
    have, want = architecture(source), architecture(model)
    functa = isinstance(source, Siren) and source.modulation is not None
    if not functa and (not isinstance(source, BatchedSiren) or source.num_signals != 1):
        raise SirenError(f"{where} holds {_described(have)} that is not a learned initialization (pass the run "
                         f"folder of `siren meta train`)")
    if have != want:
        raise SirenError(f"{where} holds {_described(have)} but this run builds {_described(want)} (pass the "
                         f"init's --model/--hidden-features/--hidden-layers/--first-omega-0/--hidden-omega-0, or another "
                         f"--init)")
    if functa:
        from .latent import latent_fit
        return latent_fit(model, source, where, rates)
    single = source.member(0)
    if isinstance(model, BatchedSiren):
        model.load_members([single] * model.num_signals)
    else:
        model.load_state_dict(single.state_dict())
    return model


def _given(config, names) -> dict:
    """{field: value} of the config fields `names` that were given (not None)."""
    return {f: getattr(config, f) for f in names if getattr(config, f) is not None}


_OMEGA = ("first_omega_0", "hidden_omega_0")
_OMEGA_FAMILIES = [n for n, f in COORDINATES.items() if set(_OMEGA) <= f.options]


MAX_OMEGA = 1e6        # past this, omega x in float32 on [-1, 1] is spaced over 0.06 rad: the sine is round-off


def _check_sizes(config) -> None:
    for f, least in (("hidden_features", 1), ("hidden_layers", 0)):
        if getattr(config, f, None) is not None and getattr(config, f) < least:
            raise SirenError(f"must be at least {least}, got {getattr(config, f)}", field=f)
    for f in _OMEGA:
        v = getattr(config, f)
        if v is not None and not (math.isfinite(v) and 0 < v <= MAX_OMEGA):
            raise SirenError(f"must be a positive number up to {MAX_OMEGA:g}, got {v}", field=f)


@dataclass
class ModelConfig:
    """The network of a run, as the CLI names it, for the "coordinates" and "batched" kinds: a registry name and
    the common options, named as `build_model` names them (None: the model's or the task's hint).
    `build_args()` -> (name, build_model keywords)."""
    model: str = option("siren", f"network: {', '.join(MODEL_NAMES)} (or a family added by register_family)",
                        metavar="NAME")
    hidden_features: int | None = option(None, "width of hidden layers (default 256; hashgrid 64)")
    hidden_layers: int | None = option(None, "hidden layers after the first (default 3; hashgrid 1)")
    first_omega_0: float | None = option(None, f"{', '.join(_OMEGA_FAMILIES)}: omega_0 of the first layer (default "
                                         "30, audio 3000; wire 20)", aliases=("--first-omega",))
    hidden_omega_0: float | None = option(None, f"{', '.join(_OMEGA_FAMILIES)}: omega_0 of hidden layers (default "
                                          "30; wire 20)", aliases=("--hidden-omega",))
    init: str | None = option(None, "start from the learned initialization of a `siren meta train` run (its folder "
                              "or checkpoint.pt); its architecture and test-time learning rate become the defaults",
                              metavar="RUN")
    options: dict = field(default_factory=dict)   # from Python only: any other option of the family (no flag)

    def __post_init__(self):
        _check_sizes(self)

    def build_args(self) -> tuple[str, dict]:
        opts = {**self.options, **_given(self, ("hidden_features", "hidden_layers", *_OMEGA))}
        if self.model not in COORDINATES:
            raise SirenError(f"{self.model!r} is not a registered model (choose from {', '.join(model_names())})",
                             field="model")
        for f in _OMEGA:
            if f in opts and f not in COORDINATES[self.model].options:
                raise SirenError(f"does not apply to the model {self.model} (it applies to "
                                 f"{', '.join(n for n, fam in COORDINATES.items() if f in fam.options)})", field=f)
        return self.model, opts


@dataclass
class PriorModelConfig:
    """The network of a prior ("prior" kind): the encoder's registry name, its options and those of the SIRENs it
    generates (None: the model's default). `build_args()` -> (name, build_model keywords)."""
    encoder: str = option("cnn", "set (set encoder + hypernetwork), cnn (CNN encoder + hypernetwork) or cnp "
                          "(conditional neural process baseline)", choices=list(PRIOR))
    latent_dim: int | None = option(None, "size of the latent code z (default 256; cnp 128)")
    hyper_hidden: int | None = option(None, "hypernetwork: units of the 2 hidden ReLU layers of each per-tensor MLP "
                                      "(default 256)")
    encoder_hidden: int | None = option(None, "encoder width: set/cnp MLP units or CNN channels (default 256; cnp "
                                        "128)")
    encoder_layers: int | None = option(None, "set/cnp: hidden layers of the point MLP; cnn: residual convs "
                                        "per downsampling stage (default 2)")
    hidden_features: int | None = option(None, "width of the generated SIREN's (the CNP decoder's) hidden layers "
                                         "(default 256; cnp 128)")
    hidden_layers: int | None = option(None, "hidden layers after the first (default 3)")
    first_omega_0: float | None = option(None, "generated SIREN: omega_0 of the first layer (default 30)",
                                         aliases=("--first-omega",))
    hidden_omega_0: float | None = option(None, "generated SIREN: omega_0 of hidden layers (default 30)",
                                          aliases=("--hidden-omega",))

    def __post_init__(self):
        _check_sizes(self)

    def build_args(self) -> tuple[str, dict]:
        if self.encoder not in PRIOR:
            raise SirenError(f"unknown encoder {self.encoder!r} (choose from {', '.join(PRIOR)})")
        opts = _given(self, ("latent_dim", "hyper_hidden", "encoder_hidden", "encoder_layers", "hidden_features",
                             "hidden_layers", *_OMEGA))
        unknown = sorted(set(opts) - PRIOR[self.encoder].options)
        if unknown:
            raise SirenError(f"{', '.join(unknown)} do not apply to the {self.encoder} encoder")
        return self.encoder, opts


MODEL_CONFIGS = {"coordinates": ModelConfig, "batched": ModelConfig, "prior": PriorModelConfig}
