"""`siren solve problem.py`: the user's own problem (`siren.problem`), trained by the one loop.

problem.py defines `problem` (a `siren.problem.Problem`) and may define `reference`: a callable of points (N, d)
(NumPy, the user's units) -> values (N,) or (N, C), or a tuple (points (N, d), values (N, C)), or a dict {output:
either of them}. The run scores the outputs against it: rel_l2 = ||u - ref|| / ||ref|| and max_error = max |u - ref|
/ max |ref| (per output as rel_l2_<name>, max_error_<name>; with one output also without the suffix). Unknowns:
value_<name> and error_<name> (|p - truth| / |truth|; a field: relative L2 on a grid of its inputs' box). An
observation with a noise level: chi2_<name> = mean((u - y)^2) / noise^2 (about 1 when the data are fitted to their
noise). Loss terms: one per constraint, mean of residual^2 times its weight (fixed, or gradient-norm balanced).

Under torchrun every process draws the same points and trains on its block of each constraint's points, the
gradients averaged (the model's and the unknowns'; gradient-norm weights from the averaged term gradients).

Files: solution.png (solution, reference, error, residual maps), solution.npz (the outputs on the figure's grid),
problem.json (inputs, outputs, box, domain, hard constraints, unknowns: what `siren.load` needs), problem.py (a
copy of the problem file: `siren.load` re-creates hard-constraint functions from it), error.png (rel_l2 by step).
"""
from __future__ import annotations

import json
import runpy
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..errors import SirenError
from ..options import option
from .base import Output, Task, register

EVAL_POINTS = 4096


def load_problem_file(path) -> tuple:
    """problem.py -> (problem, reference or None); SirenError when it defines no `problem`."""
    path = Path(path)
    if not path.is_file():
        raise SirenError(f"no problem file {path} (pass the path of a problem.py that defines `problem`)")
    try:
        namespace = runpy.run_path(str(path))
    except SirenError as e:
        raise SirenError(f"{path}: {e}") from None
    except Exception as e:                           # the user's file failed: one line, where and what
        raise SirenError(f"{path} failed: {type(e).__name__}: {e} (run it with python to see the traceback)") \
            from None
    from ..problem import Problem
    problem = namespace.get("problem")
    if not isinstance(problem, Problem):
        raise SirenError(f"{path} defines no `problem` (assign problem = siren.problem.Problem(...) in it)")
    return problem, namespace.get("reference")


def reference_points(problem, reference, n: int = EVAL_POINTS):
    """{output: (points (N, d), values (N,))} of a reference (see the module docstring)."""
    if reference is None:
        return {}
    items = reference.items() if isinstance(reference, dict) else [(None, reference)]
    out = {}
    x_default = problem.domain.interior(n, torch.Generator().manual_seed(1)).numpy()
    for name, ref in items:
        if callable(ref):
            x, values = x_default, np.asarray(ref(x_default), float).reshape(len(x_default), -1)
        else:
            x, values = np.asarray(ref[0], float), np.asarray(ref[1], float).reshape(len(ref[0]), -1)
        if not np.isfinite(values).all():
            raise SirenError("the reference has NaN or infinite values (drop those points)")
        names = problem.outputs if name is None else (name,)
        if name is not None and name not in problem.outputs:
            raise SirenError(f"reference for {name!r}, which is no output ({', '.join(problem.outputs)})")
        for c, o in enumerate(names[:values.shape[1]]):
            out[o] = (x, values[:, c])
    return out


@dataclass
class SolveConfig:
    problem: str = option(None, "problem.py: defines `problem` (a siren.problem.Problem), may define `reference`",
                          positional=True)
    lbfgs: int = option(0, "take the last N of the steps with L-BFGS (one iteration a step, strong-Wolfe line "
                        "search) after Adam")
    dtype: str = option("float32", "the networks' precision, and so their points' and derivatives' (float64: the "
                        "last digits, slower)", choices=["float32", "float64"])


@register
class SolveTask(Task):
    """The user's problem (see the module docstring)."""

    name = "solve"
    help = "your own problem: problem.py defines `problem` (domains, constraints, unknowns) and maybe `reference`"
    Config = SolveConfig
    train_defaults = {"steps": 2000, "lr": 5e-4, "schedule": "cosine"}
    metric_name = "rel_l2"
    goals = {"rel_l2": "min", "max_error": "min", "error": "min", "chi2": None, "value": None}
    width = 64
    data_parallel = True        # under torchrun: each process a block of every constraint's points

    def __init__(self, problem, reference=None, source: str | None = None, lbfgs: int = 0,
                 shard: tuple[int, int] = (0, 1), dtype: str = "float32", scored: bool = True):
        """scored: the progress metric is rel_l2 against the reference (the loss without one); False for a task
        that scores itself (its own `scores`)."""
        self.problem, self.reference, self.file, self.shard = problem, reference, source, shard
        if dtype not in ("float32", "float64"):
            raise SirenError(f"unknown dtype {dtype!r} (choose float32 or float64)", field="dtype")
        self.dtype = getattr(torch, dtype)          # `siren.launch` builds the model in it, `to` the unknowns
        if lbfgs < 0:
            raise SirenError(f"must be >= 0, got {lbfgs}", field="lbfgs")
        self.lbfgs_steps = lbfgs
        problem.compile(seed=0)
        self.in_features, self.out_features = len(problem.inputs), len(problem.outputs)
        self.scored = reference_points(problem, reference)
        if scored and not self.scored:
            self.metric_name = "loss"
        self.checked = False

    @classmethod
    def from_config(cls, config: SolveConfig, shard: tuple[int, int] = (0, 1)):
        if not config.problem:
            raise SirenError("no problem file given (siren solve problem.py --out runs/x)")
        problem, reference = load_problem_file(config.problem)
        return cls(problem, reference, str(Path(config.problem).resolve()), config.lbfgs, shard, config.dtype)

    def model_hints(self) -> dict:
        """64 wide by default, and the problem's own hints (`Problem(hints=...)`); flags override both."""
        return {"hidden_features": self.width, **self.problem.hints}

    def parameters(self) -> list:
        """The unknowns as Adam parameter groups, trained with the model (`siren.train.fit` adds them to its
        optimizer): each scalar at its own learning rate, the fields' networks at the run's."""
        groups = [{"params": [p.value], "lr": p.lr} for p in self.problem.parameters.values()]
        fields = [q for f in self.problem.fields.values() for q in f.model.parameters()]
        return groups + ([{"params": fields}] if fields else [])

    def to(self, device):
        for p in self.problem.parameters.values():
            p.value.data = p.value.data.to(device, self.dtype)
        for f in self.problem.fields.values():
            f.model.to(device, **({} if self.dtype == torch.float32 else {"dtype": self.dtype}))
        return self

    def models(self, model) -> dict:
        return {"solution": model, **{k: f.model for k, f in self.problem.fields.items()}}

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        terms = self.problem.terms(self.models(model), generator, check=not self.checked, shard=self.shard,
                                   step=step)
        self.checked = True
        if self.problem.balance == "gradnorm" and step % self.problem.balance_every == 0:
            self.problem.rebalance(terms, [p for p in model.parameters() if p.requires_grad], self.shard[1])
        return terms

    def scores(self, model, final: bool = False) -> dict:
        out, models = {}, self.models(model)
        for name, (x, ref) in self.scored.items():
            u = self.problem.evaluate(models, x)["value"][:, self.problem.outputs.index(name)]
            out[f"rel_l2_{name}"] = float(np.linalg.norm(u - ref) / max(np.linalg.norm(ref), 1e-30))
            out[f"max_error_{name}"] = float(np.abs(u - ref).max() / max(np.abs(ref).max(), 1e-30))
        if len(self.scored) == 1:
            (name,) = self.scored
            out["rel_l2"], out["max_error"] = out[f"rel_l2_{name}"], out[f"max_error_{name}"]
        elif self.scored:
            out["rel_l2"] = float(np.mean([out[f"rel_l2_{n}"] for n in self.scored]))
        for name, p in self.problem.parameters.items():
            out[f"value_{name}"] = float(p.value.detach())
            if p.truth is not None:
                out[f"error_{name}"] = abs(out[f"value_{name}"] - p.truth) / max(abs(p.truth), 1e-30)
        for name, f in self.problem.fields.items():
            if f.truth is not None:
                out[f"error_{name}"] = self.field_error(name)
        for name, c in self.problem.constraints.items():
            noise = getattr(c, "noise", None)
            if noise is not None and final:
                r = self.problem.residual(name, models, self.problem.point_sets(name, None), torch.float64
                                          if next(model.parameters()).dtype == torch.float64 else torch.float32,
                                          next(model.parameters()).device)
                out[f"chi2_{name}"] = float((r.detach() ** 2).mean()) / noise ** 2
        return out

    def field_grid(self, name: str, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """The field `name` on a grid of its inputs' box -> (points (M, k), values (M,))."""
        axes = self.problem.axes_of(name)
        lo, hi = self.problem.lo[axes], self.problem.hi[axes]
        k = len(axes)
        m = max(2, int(round(n ** (1 / k) if k > 1 else n)))
        x = np.stack(np.meshgrid(*[np.linspace(lo[i], hi[i], m) for i in range(k)], indexing="ij"), -1).reshape(-1, k)
        return x, self.problem.field_at(name, x)

    def field_error(self, name: str) -> float:
        x, v = self.field_grid(name)
        truth = np.asarray(self.problem.fields[name].truth(x), float).reshape(-1)
        return float(np.linalg.norm(v - truth) / max(np.linalg.norm(truth), 1e-30))

    def evaluate(self, model) -> dict:
        return self.scores(model)

    def write_outputs(self, model, out_dir: Path, history: list):
        out_dir = Path(out_dir)
        from ..problem.figures import grids, solution_figure
        metrics = self.scores(model, final=True)
        files = [Output("problem.json", "log", "inputs, outputs, box, domain, hard constraints, unknowns (what "
                        "siren.load needs)")]
        (out_dir / "problem.json").write_text(json.dumps(self.problem.to_dict(), indent=2))
        if self.file is not None and Path(self.file).is_file():
            shutil.copy(self.file, out_dir / "problem.py")
            files.append(Output("problem.py", "log", "a copy of the problem file"))
        residuals = [k for k, c in self.problem.constraints.items() if type(c).__name__ == "Residual"]
        ref = self.reference if callable(self.reference) else (
            self.reference.get(self.problem.outputs[0]) if isinstance(self.reference, dict) and callable(
                self.reference.get(self.problem.outputs[0])) else None)
        solution_figure(self.problem, self.models(model), ref, residuals[0] if residuals else None,
                        out_dir / "solution.png")
        files.append(Output("solution.png", "figure", "the solution, the reference and the error (when given), and "
                            "the residual's magnitude, in the user's units"))
        label, x, shape = grids(self.problem)[-1]
        np.savez(out_dir / "solution.npz", points=x, values=self.problem.evaluate(self.models(model), x)["value"],
                 shape=np.array(shape), inputs=np.array(self.problem.inputs), outputs=np.array(self.problem.outputs))
        files.append(Output("solution.npz", "field", "points (M, d), values (M, C) of the outputs on the figure's "
                            "grid (last map), shape, inputs, outputs"))
        if self.scored and any("rel_l2" in r for r in history):
            viz.curve(history, "rel_l2", out_dir / "error.png", ylabel="relative L2 vs the reference")
            files.append(Output("error.png", "figure", "relative L2 error against the reference by training step"))
        return metrics, files

    def state_dict(self) -> dict:
        return {"parameters": {k: p.value.detach().cpu() for k, p in self.problem.parameters.items()},
                "fields": {k: f.model.state_dict() for k, f in self.problem.fields.items()},
                "weights": dict(self.problem.weights), "checked": self.checked,
                "adaptive": {k: c.adaptive.state_dict() for k, c in self.problem.constraints.items() if c.adaptive}}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.get("parameters", {}).items():
            self.problem.parameters[k].value.data.copy_(v)
        for k, v in state.get("fields", {}).items():
            self.problem.fields[k].model.load_state_dict(v)
        self.problem.weights.update(state.get("weights", {}))
        self.checked = state.get("checked", self.checked)
        for k, v in state.get("adaptive", {}).items():
            self.problem.constraints[k].adaptive.load_state_dict(v)

    def meta(self) -> dict:
        return {"task": self.name, "problem": self.problem.to_dict(), "source": self.file}

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        path = Path(folder) / "tiny_problem.py"
        path.write_text("import torch\nfrom siren.problem import Problem, Interval, Residual, Dirichlet\n"
                        "problem = Problem(Interval(0, 1), constraints={'pde': Residual(lambda v: v.d('u', 'x', 'x') "
                        "+ 1, points=64), 'bc': Dirichlet('u', 0.0, points=8)})\n"
                        "reference = lambda x: 0.5 * x[:, 0] * (1 - x[:, 0])\n")
        return [str(path)]
