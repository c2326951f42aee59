"""Portable weights: a trained network as a safetensors file that any program can read without running code.

    save_weights(model, path, meta)   the model's state_dict as safetensors tensors, and in the file's metadata
                                      (a JSON string under the key "siren"): {"format", "version", "spec" (the
                                      model's spec: kind, family name, sizes, options), "task" (the run's task
                                      record: input box, scale, rate, ...), "conventions" ({"input", "output"}:
                                      what the coordinates and the outputs mean)}
    read_metadata(path)               that metadata of a .safetensors file
    load_model(path)                  a .safetensors file, a checkpoint.pt or a run folder -> the nn.Module (eval
                                      mode, on the CPU), with `.spec` and `.meta` (the metadata above)

Nothing here imports `siren.tasks` or `siren.train`: a colleague loads a network with the models alone. Checkpoints
are read without unpickling code (`siren.run_folder.load_checkpoint`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .errors import SirenError
from .models import model_from_spec
from .run_folder import CHECKPOINT, load_checkpoint, model_from_checkpoint, to_json

__all__ = ["FORMAT", "VERSION", "conventions", "weights_meta", "save_weights", "read_metadata", "network_of",
           "load_model"]

FORMAT, VERSION = "siren-weights", 1
SUFFIX = ".safetensors"

_GRID = "in [-1, 1] per axis, endpoints on the first and last sample"
_CONVENTIONS = {          # task -> (input, output), what its runs store (docs/export.md)
    "fit image": (f"(row, col) {_GRID}", "2 v - 1 per channel for pixel values v in [0, 1]"),
    "fit video": (f"(frame, row, col) {_GRID}", "2 v - 1 per channel for pixel values v in [0, 1]; fps in task"),
    "fit audio": (f"(t,) {_GRID}", "samples / scale per channel (task: scale = peak |sample|, rate in Hz)"),
    "poisson": (f"(row, col) {_GRID}", "2 v - 1 per channel, up to the constant (gradient) or harmonic function "
                "(Laplacian) that the run aligns before scoring"),
    "edit": (f"(row, col) {_GRID}", "2 v - 1 per channel, up to a constant"),
    "sdf": ("model coordinates (p - center) / scale in [-1, 1]^3 (task: center, scale)",
            "signed distance in model units (times scale: input units), negative inside"),
    "helmholtz": ("(x, y) in [-1, 1]^2", "(Re u, Im u) of the field (task: k, source)"),
    "fwi": ("(x, y) in [-1, 1]^2", "(Re, Im) of each source's scattered field, interleaved, then q (task)"),
    "wave": ("(tau, x, y): (x, y) in [-1, 1]^2, tau = c_max t - 1 (task: network_time)", "the wavefield u"),
    "solve": ("2 (x - lo) / (hi - lo) - 1 for the problem's inputs x in their box (task: problem: inputs, lo, hi)",
              "the problem's outputs (task: problem: outputs), before its hard constraints (task: problem: hard)"),
}


def conventions(task: dict) -> dict:
    """{"input", "output"}: what the coordinates and outputs of a network trained by the task of this record (a
    checkpoint's "task" dict) mean; "see task" for a task without a stated convention."""
    name = (task or {}).get("task")
    inp, out = _CONVENTIONS.get(name, ("see task", "see task"))
    return {"input": inp, "output": out}


def weights_meta(model: nn.Module, task: dict | None = None) -> dict:
    """The metadata of an exported network: format, version, spec, task record, conventions (module docstring)."""
    spec = getattr(model, "spec", None)
    if not spec:
        raise SirenError(f"this {type(model).__name__} has no spec (build it with siren.build_model, or load it "
                         "from a run)")
    from . import __version__
    return {"format": FORMAT, "version": VERSION, "siren": __version__, "spec": spec, "task": task or {},
            "conventions": conventions(task or {})}


def save_weights(model: nn.Module, path: str | os.PathLike, task: dict | None = None) -> Path:
    """Write `model`'s weights and `weights_meta(model, task)` to the safetensors file `path`; returns it."""
    from safetensors.torch import save_file
    meta = weights_meta(model, task)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    path = Path(path)
    save_file(tensors, str(path), metadata={"siren": to_json(meta, default=str)})
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    """The "siren" metadata of a .safetensors file written by `save_weights` (SirenError for any other file)."""
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("siren")
    except (SafetensorError, OSError, ValueError) as e:
        raise SirenError(f"cannot read {path}: not a safetensors file ({str(e).splitlines()[0]})") from None
    try:
        meta = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "spec" not in meta:
        raise SirenError(f"{path} holds no siren network (its metadata has no siren spec; write it with "
                         "`siren export RUN --format safetensors`)")
    if meta.get("version", 0) > VERSION:
        raise SirenError(f"{path} was written by a newer siren (format version {meta['version']}; upgrade siren)")
    return meta


def network_of(ckpt: dict, where: str | os.PathLike) -> nn.Module:
    """The trained network of a checkpoint dict (`siren.run_folder.load_checkpoint`) with `.meta`
    (`weights_meta`); `where` names the checkpoint in errors."""
    if not ckpt.get("spec"):
        raise SirenError(f"{where} holds no model spec (a checkpoint of a network built outside build_model)")
    model = model_from_checkpoint(ckpt)
    model.meta = weights_meta(model, ckpt.get("task"))
    return model


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """A bare network from a .safetensors file (`siren export --format safetensors`), a checkpoint.pt or a run
    folder, in eval mode on `device`: coords (N, d) -> (N, C) as the run trained it (its `.meta["conventions"]`
    says what the coordinates and outputs mean). `siren.load(run)` gives what a run holds; this, the network."""
    path = Path(path)
    if not path.exists():
        raise SirenError(f"not found: {path} (pass a .safetensors file, a checkpoint.pt or a run folder)")
    if path.is_dir() or path.suffix != SUFFIX:
        if path.is_dir() and not (path / CHECKPOINT).is_file():
            raise SirenError(f"{path} holds no {CHECKPOINT} (pass a run folder, a checkpoint or a .safetensors file)")
        return network_of(load_checkpoint(path), path).to(device).eval()
    from safetensors.torch import load_file
    meta = read_metadata(path)
    try:
        model = model_from_spec(meta["spec"])
    except (KeyError, TypeError, ValueError) as e:
        raise SirenError(f"{path}: its spec does not build a network ({e}; was the family registered with "
                         "siren.register_family in the program that wrote it?)") from None
    try:
        model.load_state_dict(load_file(str(path)))
    except RuntimeError as e:
        raise SirenError(f"{path}: its tensors do not fit its spec ({str(e).splitlines()[0]})") from None
    model.meta = meta
    return model.to(device).eval()
