"""The run folder: what a run writes, in one place (imports no task, no training loop).

    config.json     everything needed to rerun: command, model spec, training and task settings   (write_config)
    metrics.jsonl   one JSON record per log step (written by `siren.train.fit`)
    checkpoint.pt   model, optimizer, schedule, random streams, task state (save_checkpoint, load_checkpoint)
    metrics.json    {"task", "model", "steps", "seconds", "interrupted", "metrics", "goals"}           (write_metrics)
                    goals: metric -> "max" | "min" for every metric whose better direction the task declared
    outputs.json    every file of the run: path, kind (OUTPUT_KINDS), caption                       (write_manifest)
    report.html     the run on one page (`siren.report`)                                            (write_report)

A folder is never silently overwritten (`prepare_out_dir`), nor begun where it cannot be written
(`siren.runtime.require_writable`); checkpoints are written atomically. Every JSON file is strict JSON (`to_json`:
NaN and infinities as null), so any parser reads it, browsers' JSON.parse included. On resume the log is cut back
to the checkpoint's step (`cut_log`).
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import shutil
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import SirenError
from .models import model_from_spec
from .runtime import require_writable

__all__ = ["Output", "OUTPUT_KINDS", "CHECKPOINT", "LOG", "RUN_FILES", "to_json", "prepare_out_dir", "cut_log", "save_checkpoint", "load_checkpoint", "model_from_checkpoint", "write_config", "metric_goals", "write_metrics",
           "write_manifest", "write_report"]

CHECKPOINT = "checkpoint.pt"
LOG = "metrics.jsonl"
OUTPUT_KINDS = ("image", "figure", "audio", "video", "mesh", "field", "table", "checkpoint", "log")


@dataclass(frozen=True)
class Output:
    """One file a run wrote: path relative to the run folder, kind (one of OUTPUT_KINDS), a one-line caption."""
    path: str
    kind: str
    caption: str

    def __post_init__(self):
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"unknown output kind {self.kind!r} (choose from {', '.join(OUTPUT_KINDS)})")


RUN_FILES = (Output("config.json", "log", "everything needed to rerun: command, model, training and task settings"),
             Output(LOG, "log", "one JSON record per log step: loss, raw terms, weights, metrics"),
             Output(CHECKPOINT, "checkpoint", "model, optimizer and task state; --resume continues from it"),
             Output("metrics.json", "table", "final metrics: task, model, steps, seconds, metrics and their goals"),
             Output("report.html", "log", "this run on one page: metrics, curves, pictures, sound, video, meshes"))
REPORT = RUN_FILES[-1]


def _plain(value):
    """`value` for JSON: NaN and infinities -> None, numpy scalars -> Python numbers, tuples -> lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_json(value, indent: int | None = None, default=None) -> str:
    """Strict JSON text of `value` (RFC 8259, what JSON.parse accepts): NaN and infinities are written as null,
    numpy scalars as numbers; default(obj) converts other objects (e.g. str). Anything else non-finite raises."""
    fallback = None if default is None else (lambda o: _plain(default(o)))
    return json.dumps(_plain(value), indent=indent, default=fallback, allow_nan=False)


def prepare_out_dir(out_dir: str | os.PathLike, overwrite: bool = False, resume: bool = False) -> Path:
    """Create the run folder; refuse an existing non-empty one unless overwrite or resume, and one that cannot be
    written (`siren.runtime.require_writable`)."""
    out = require_writable(out_dir)
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise SirenError(f"nothing to resume: {out / CHECKPOINT} does not exist (drop --resume, or pass "
                             f"--overwrite to start that folder over)")
        return out
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            if (out / CHECKPOINT).is_file():
                raise SirenError(f"output folder {out} holds a run (pass --resume to continue it, --overwrite to "
                                 f"start over, or another --out)")
            raise SirenError(f"output folder {out} already exists and is not empty (pass --overwrite or another --out)")
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SirenError(f"cannot write the output folder {out}: {e.strerror or e} (choose another --out)") from None
    return out


def cut_log(path: Path, step: int) -> None:
    """Keep only the records of metrics.jsonl at `path` up to `step` (the checkpoint's, on resume), so a run killed
    after its last checkpoint logs each step once; a line cut short by the kill goes too. Atomic (temp file, then
    os.replace); no file, nothing to do."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(kept))
    os.replace(tmp, path)


_CONTAINERS = (dict, OrderedDict, Counter, list, tuple, set)
_LEAVES = (str, int, float, bool, complex, bytes, type(None), torch.Size, torch.dtype, torch.device)


def _check_plain(value, where: str) -> None:
    """TypeError unless `value` is what `load_checkpoint` reads back (plain data: tensors, numbers, strings, and
    dicts, lists, tuples of them), naming where the first other object sits (e.g. a numpy scalar in a task's meta)."""
    if type(value) in _CONTAINERS:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            _check_plain(v, f"{where}[{k!r}]")
    elif not (type(value) in _LEAVES or isinstance(value, torch.Tensor)):
        raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__qualname__}: a checkpoint holds plain "
                        "data only (convert it, e.g. float(x), x.tolist(), torch.as_tensor(x))")


def save_checkpoint(path: Path, payload: dict) -> None:
    """Atomic write: a crash mid-save never destroys the previous checkpoint. `payload` must be plain data (what
    `load_checkpoint` reads without running code; else TypeError naming the offending entry)."""
    _check_plain(payload, "checkpoint")
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by `siren.train.fit` (a run folder or its checkpoint.pt) as plain data
    (`torch.load(weights_only=True)`: tensors, numbers, strings, lists, dicts); a missing or corrupt file, or one
    holding a pickled object of another class (which only running code could rebuild), is a SirenError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise SirenError(f"checkpoint not found: {path} (pass a run folder or its checkpoint.pt)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)     # plain data: never runs code
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if found:
            raise SirenError(f"refused {path}: it holds a pickled {found.group(1)}, which only running code could "
                             "rebuild (siren reads checkpoints as plain data; load it yourself with torch.load("
                             "weights_only=False) only if you trust its author)") from None
        raise SirenError(f"cannot read checkpoint {path}: it is corrupt or not a siren checkpoint "
                         f"({type(e).__name__})") from None
    except Exception as e:  # torch raises many types on garbage input
        raise SirenError(f"cannot read checkpoint {path}: it is corrupt or not a siren checkpoint ({type(e).__name__})")
    if not isinstance(ckpt, dict) or not {"model", "spec", "step"} <= set(ckpt):
        raise SirenError(f"{path} is not a siren checkpoint (missing model/spec/step)")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the trained model stored in a checkpoint dict (in float64 when its parameters are)."""
    model = model_from_spec(ckpt["spec"])
    if {v.dtype for v in ckpt["model"].values() if v.is_floating_point()} == {torch.float64}:
        model.double()                                   # e.g. siren solve --dtype float64: keep its digits
    model.load_state_dict(ckpt["model"])
    return model


def write_config(out: Path, command: dict | None, spec: dict, train: dict, task_meta: dict) -> None:
    """config.json: the command's arguments, the model spec, the training settings and the task's meta."""
    (out / "config.json").write_text(to_json({"command": command, "model": spec, "train": train,
                                               "task": task_meta}, indent=2, default=str))


def metric_goals(goals: dict, metrics: dict) -> dict:
    """metric -> "max" | "min" for each numeric entry of `metrics` that `goals` covers: a key equal to a declared
    name, or one that extends it after an underscore ("psnr_grad" by "psnr", "mse_100" by "mse"); the longest
    name wins, and a name declared None has no goal ("psnr_std")."""
    out = {}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        names = [n for n in goals if key == n or key.startswith(n + "_")]
        if names and goals[max(names, key=len)] is not None:
            out[key] = goals[max(names, key=len)]
    return out


def write_metrics(out: Path, task: str, model: str, steps: int, seconds: float, interrupted: bool, metrics: dict,
                  goals: dict) -> dict:
    """metrics.json (the one writer; `goals` as a task declares them, see `metric_goals`); returns its content.
    A metric that is NaN or infinite is written as null (`to_json`)."""
    summary = {"task": task, "model": model, "steps": steps, "seconds": seconds, "interrupted": interrupted,
               "metrics": metrics, "goals": metric_goals(goals, metrics)}
    (out / "metrics.json").write_text(to_json(summary, indent=2, default=float))
    return summary


def write_manifest(out: Path, files: list, report: bool = False) -> None:
    """outputs.json: the run's own files and the task's `files` (Output records) that exist in `out`, and
    report.html when `report` (it is written next, from this list: `write_report`)."""
    entries = [o for o in (*RUN_FILES, *files) if (out / o.path).exists() and o is not REPORT]
    entries += [REPORT] if report else []
    entries.append(Output("outputs.json", "log", "this list of the run's files"))
    (out / "outputs.json").write_text(to_json([asdict(o) for o in entries], indent=2))


def write_report(out: Path) -> Path:
    """report.html of the run in `out` (`siren.report`), from its metrics.json and outputs.json."""
    from .report import run_report
    return run_report(out)
