"""`solve(problem) -> Solution`, and `load_solution(run)` for a run folder of `siren solve`.

    solution = siren.solve(problem, model="siren", steps=2000, out="runs/heat", reference=exact)
    solution(points)                                  # (N, d) NumPy, the user's units -> (N, C)
    solution.derivatives(points, order=2)             # {"value" (N, C), "gradient" (N, C, d), "hessian" (N, C, d, d)}
    solution.unknowns                                 # {name: value} of the scalar unknowns
    solution.field("k", points)                       # an unknown field at (N, k) points of its inputs -> (N,)
    siren.load("runs/heat")                           # the same Solution, without problem.py (see below)

A run folder keeps the box, the names and the unknowns (problem.json, the checkpoint); a hard constraint's functions
g and d are re-created from the copy of problem.py in the run folder (a Python-API run with a hard constraint keeps
the script that defined them; it is run again under the name "siren.load", so its training must sit under
`if __name__ == "__main__":`).
"""
from __future__ import annotations

import json
import os
import runpy
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..errors import SirenError
from .frame import Frame

__all__ = ["Solution", "solve", "load_solution"]


class _Stored(Frame):
    """A Frame rebuilt from problem.json (and, for hard constraints, problem.py)."""

    def __init__(self, spec: dict, fields: dict, parameters: dict, hard: dict, domain=None):
        self.inputs, self.outputs = tuple(spec["inputs"]), tuple(spec["outputs"])
        self.lo, self.hi = np.asarray(spec["lo"], float), np.asarray(spec["hi"], float)
        self.space = self.inputs[:-1] if spec["domain"]["kind"] == "spacetime" else self.inputs
        self.fields, self.parameters, self.hard, self.domain = fields, parameters, hard, domain


class Solution:
    """A trained problem: call it on points (see the module docstring)."""

    def __init__(self, frame: Frame, model, metrics: dict | None = None, history: list | None = None,
                 out: Path | None = None):
        self.frame, self.model = frame, model.eval()
        self.metrics, self.history, self.out = metrics or {}, history or [], out

    @property
    def inputs(self):
        return self.frame.inputs

    @property
    def outputs(self):
        return self.frame.outputs

    def _models(self):
        return {"solution": self.model, **{k: f.model for k, f in self.frame.fields.items()}}

    def __call__(self, points) -> np.ndarray:
        """points (N, d) in the user's units (columns in the order of `inputs`) -> outputs (N, C), float64."""
        return self.frame.evaluate(self._models(), self._points(points))["value"]

    def derivatives(self, points, order: int = 1) -> dict:
        """points (N, d) -> {"value" (N, C), "gradient" (N, C, d)[n, c, i] = d out_c / d x_i, and for order 2
        "hessian" (N, C, d, d)}, in the user's units, float64."""
        if order not in (1, 2):
            raise SirenError(f"order must be 1 or 2, got {order}")
        return self.frame.evaluate(self._models(), self._points(points), order=order)

    @property
    def unknowns(self) -> dict:
        return {k: float(p.value.detach()) for k, p in self.frame.parameters.items()}

    def field(self, name: str, points) -> np.ndarray:
        """The unknown field `name` at points (N, k) of its inputs -> (N,)."""
        if name not in self.frame.fields:
            raise SirenError(f"no unknown field {name!r} (fields: {', '.join(self.frame.fields) or 'none'})")
        return self.frame.field_at(name, np.asarray(points, float).reshape(-1, len(self.frame.axes_of(name))))

    def _points(self, points) -> np.ndarray:
        x = np.asarray(points, float)
        x = x.reshape(-1, 1) if x.ndim == 1 and len(self.inputs) == 1 else x
        if x.ndim != 2 or x.shape[1] != len(self.inputs):
            raise SirenError(f"points must be (N, {len(self.inputs)}) (columns {', '.join(self.inputs)}), "
                             f"got shape {x.shape}")
        return x


def solve(problem, *, model: str = "siren", steps: int | None = None, lr: float | None = None, reference=None,
          lbfgs: int = 0, dtype: str = "float32",
          out: str | os.PathLike | None = None, overwrite: bool = False, seed: int = 0, device: str = "auto",
          progress: bool = True, report: bool = True, **model_options) -> Solution:
    """Train `model` (a name of `siren.models.MODEL_NAMES`, its options as keywords, e.g. hidden_features=32) on
    `problem` (a `siren.problem.Problem`) through the CLI's machinery (`siren solve`): the run folder `out`
    (default a new temporary folder), checkpoints, metrics.json scored against `reference` (see
    `siren.tasks.solve`), figures and report.html. steps, lr: the solve task's defaults when None; lbfgs: the
    last that many steps by L-BFGS; dtype: "float64" trains the networks (so their points and derivatives) in
    double precision."""
    from ..launch import run
    from ..tasks.solve import SolveTask
    from ..train import TrainConfig
    source = _source_file(problem)
    task = SolveTask(problem, reference, source, lbfgs, dtype=dtype)
    given = {k: v for k, v in (("steps", steps), ("lr", lr)) if v is not None}
    settings = {**SolveTask.train_defaults, **given}
    cfg = TrainConfig(seed=seed, device=device, progress=progress, **settings)
    out = Path(tempfile.mkdtemp(prefix="siren-")) if out is None else Path(out)
    net, result, summary = run(task, model, cfg, out, model_options=model_options, overwrite=overwrite,
                               report=report)
    return Solution(problem, net, summary.get("metrics", {}), result.history, out)


def _source_file(problem) -> str | None:
    """The file that defined the hard constraints' functions (a script), if any."""
    import inspect
    for h in problem.hard.values():
        for f in (h.g, h.d if h.named is None else None):
            if callable(f):
                try:
                    return inspect.getsourcefile(f)
                except TypeError:
                    return None
    return None


def load_solution(run: str | os.PathLike, ckpt: dict | None = None, device: str = "auto") -> Solution:
    """A run folder of `siren solve` (or its checkpoint.pt) -> Solution on `device`."""
    from ..run_folder import load_checkpoint, model_from_checkpoint
    from ..train import resolve_device
    from .geometry import from_dict
    from .transform import Hard
    from .unknowns import Field, Parameter
    ckpt = ckpt or load_checkpoint(run)
    meta = ckpt.get("task") or {}
    if meta.get("task") != "solve":
        raise SirenError(f"{run} is a run of {meta.get('task', 'an unknown task')!r}, not of `siren solve`")
    folder = Path(run) if Path(run).is_dir() else Path(run).parent
    spec, state = meta["problem"], ckpt.get("task_state") or {}
    dev = resolve_device(device)
    fields = {}
    for name, f in spec["fields"].items():
        field = Field(f["inputs"])
        field.model = model_from_checkpoint({"spec": f["spec"], "model": state["fields"][name]})
        field.model.to(dev).eval()
        fields[name] = field
    parameters = {}
    for name in spec["parameters"]:
        parameters[name] = Parameter(float(state["parameters"][name]))
    hard, domain = {}, from_dict(spec["domain"])
    if spec["hard"] and all(isinstance(h["value"], float) and isinstance(h["distance"], list)
                            for h in spec["hard"].values()):                     # numbers and named distances
        hard = {k: Hard(h["value"], h["distance"]) for k, h in spec["hard"].items()}
    elif spec["hard"]:
        copy = folder / "problem.py"
        if not copy.is_file():
            raise SirenError(f"{run} has hard constraints but no copy of its problem.py (put the problem file there "
                             "as problem.py)")
        hard = runpy.run_path(str(copy), run_name="siren.load")["problem"].hard   # a script's __main__ part is skipped
    frame = _Stored(spec, fields, parameters, hard, domain)
    for h in hard.values():
        h.bind(frame)
    scores = folder / "metrics.json"
    metrics = json.loads(scores.read_text()).get("metrics", {}) if scores.is_file() else {}
    net = model_from_checkpoint(ckpt).to(dev)
    return Solution(frame, net, metrics, ckpt.get("history", []), folder)
