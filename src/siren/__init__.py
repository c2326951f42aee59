"""siren: implicit neural representations with periodic activations (Sitzmann et al., NeurIPS 2020).

Subpackages: `siren.models` (networks, one registry per interface), `siren.diff` (derivatives w.r.t. the input),
`siren.data` (signals in and out), `siren.tasks` (applications, one registry; imported on first use, so that
`import siren.train` loads no task); `siren.launch` runs any task, `siren.train` is its training loop.
In your own network: `siren.Sine(omega_0)` (an activation), `siren.SineLayer` (a linear map and a sine with SIREN's
init), `siren.Siren` / `siren.CoordinateMLP` (with a FiLM modulation input); docs/families.md says what the init
assumes. In a notebook: `siren.fit(signal)` -> `Fitted` (`.render(size)`, `.derivatives()`), `siren.load(run_folder)`
(`siren.api`, imported on first use like `siren.tasks`); `siren.load_model(file)` a bare network (`siren.portable`).
Every subpackage is imported on first use, so a command that needs no PyTorch (`siren decompress` of a latent-grid
file) starts without it.
"""
import importlib

from .errors import SirenError

__all__ = ["Siren", "Sine", "SineLayer", "ActivatedLinear", "Activation", "CoordinateMLP", "SirenError", "build_model",
           "register_family", "data", "diff", "fit", "load", "load_model", "models", "tasks", "solve", "problem",
           "Problem"]
__version__ = "0.2.0"


_MODELS = ("Activation", "ActivatedLinear", "CoordinateMLP", "Sine", "SineLayer", "Siren", "build_model",
           "register_family")


def __getattr__(name: str):
    if name in ("data", "diff", "models", "tasks"):
        return importlib.import_module(f".{name}", __name__)
    if name in _MODELS:
        return getattr(importlib.import_module(".models", __name__), name)
    if name in ("fit", "load", "Fitted"):
        return getattr(importlib.import_module(".api", __name__), name)
    if name == "load_model":                                      # a bare network, without tasks or training
        return importlib.import_module(".portable", __name__).load_model
    if name == "problem":
        return importlib.import_module(".problem", __name__)
    if name in ("solve", "Problem", "Solution"):                  # your own problem (`siren.problem`)
        return getattr(importlib.import_module(".problem", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
