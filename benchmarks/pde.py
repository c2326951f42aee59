"""PDE benchmarks: neural solutions scored against the numerical reference solvers, one table per problem.

    python benchmarks/pde.py wave [--models siren,tanh,relu] [--steps N] [--threads 1] [--figure PNG] [--json PATH]
    python benchmarks/pde.py helmholtz [--velocities circle,uniform] [--k 20] [--models siren,tanh] [--figure PNG]

Each problem is a function in PROBLEMS that trains every model on the problem at its task's defaults, scores it
against the reference solver and returns table rows and the columns to print; the script prints one markdown
table per problem.

wave: `siren wave` with its defaults (c = 1, source (0, 0), sigma 0.1, T = 0.5; 2,000 residual + 1,000
initial-condition points a step, the time-window curriculum, Adam 3e-4 with cosine decay, networks 128 wide with 3
hidden layers) for every model at the same settings. Columns: relative L2 against FDTD on the 256 x 256 grid at
t = 0.1, 0.2, 0.4; steps; seconds per step; wall and CPU minutes of the training (CPU = process time, all threads);
intra-op threads. --figure writes a frame strip: FDTD and every model at t = 0.1, 0.2, 0.4.

helmholtz: `siren helmholtz` at its defaults (k = 20, source (0, 0), scattered formulation, 4,096 uniform points a
step, Adam 5e-4 with cosine decay, networks 128 wide with 3 hidden layers) for every velocity and model, plus the
paper's route (siren, total formulation) on each velocity. Columns: relative L2 against the FD solver over the
non-PML square [-0.5, 0.5]^2 (on the 256 x 256 grid) at the end, the step and the wall / CPU minutes at which the
error (scored every --log-every steps on every 4th grid point) first reached 10%, s/step, wall and CPU minutes.
--figure writes the error-vs-step curves.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from siren.models import build_model
from siren.train import TrainConfig, fit
from machine import cpu_name

WAVE_TIMES = (0.1, 0.2, 0.4)


def train_timed(model, task, cfg, callback=None) -> dict:
    """Train; wall and CPU (process) seconds of the training."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit(model, task, cfg, callback=callback)
    return {"wall_min": (time.perf_counter() - wall) / 60, "cpu_min": (time.process_time() - cpu) / 60,
            "s_per_step": (time.perf_counter() - wall) / cfg.steps}


def train_config(task_cls, steps: int, args) -> TrainConfig:
    """The task's training defaults, quiet, no checkpoints."""
    d = task_cls.train_defaults
    return TrainConfig(steps=steps, lr=d["lr"], schedule=d["schedule"], log_every=args.log_every,
                       checkpoint_every=steps + 1, seed=args.seed, progress=False)


def bench_wave(args) -> dict:
    """Every model on `siren wave`'s defaults: rows of rel. L2 at WAVE_TIMES and costs, and frames for the strip."""
    from siren.metrics import relative_l2
    from siren.tasks.wave import WaveConfig, WaveTask
    defaults = WaveTask.train_defaults
    steps = args.steps or defaults["steps"]
    task = WaveTask.from_config(WaveConfig(), steps=steps)
    ref = task.solve_fdtd(task.n, WAVE_TIMES).numpy()
    rows, frames = [], {"FDTD": ref}
    for name in (args.models or "siren,tanh").split(","):
        torch.manual_seed(args.seed)
        model = build_model(name, 3, 1, hints=task.model_hints())
        cost = train_timed(model, task, train_config(WaveTask, steps, args))
        model.eval()
        u = task.predict(model, WAVE_TIMES, task.n).numpy()
        errs = [relative_l2(a, b) for a, b in zip(u, ref)]
        rows.append({"model": name, **{f"t={t:g}": e for t, e in zip(WAVE_TIMES, errs)}, "steps": steps, **cost,
                     "threads": torch.get_num_threads(),
                     "width": model.spec["options"].get("hidden_features", 256)})
        frames[name] = u
        print(f"  {name}: " + ", ".join(f"{e:.1%}" for e in errs) + f" ({cost['wall_min']:.1f} min)", flush=True)
    columns = [("model", "model", "{}"), *((f"t={t:g}", f"rel. L2 t={t:g}", "{:.1%}") for t in WAVE_TIMES), *COSTS]
    return {"rows": rows, "frames": frames, "times": WAVE_TIMES, "columns": columns, "figure": strip,
            "title": f"wave equation, relative L2 vs FDTD ({task.n} x {task.n} grid), defaults of `siren wave`"}


def bench_helmholtz(args) -> dict:
    """Every velocity x model (scattered formulation) and siren on the paper's total formulation, at the defaults
    of `siren helmholtz`: final error, the step and time it first reached 10%, costs, and the error curves."""
    from siren.tasks.helmholtz import HelmholtzConfig, HelmholtzTask
    steps = args.steps or HelmholtzTask.train_defaults["steps"]
    runs = [(v, *(name.split(":") + ["scattered"])[:2]) for v in args.velocities.split(",")
            for name in (args.models or "siren,tanh,siren:total").split(",")]
    rows = []
    for velocity, name, formulation in runs:
        task = HelmholtzTask.from_config(HelmholtzConfig(velocity=velocity, k=args.k, formulation=formulation))
        torch.manual_seed(args.seed)
        model = build_model(name, 2, 2, hints=task.model_hints())
        curve, start = [], (time.perf_counter(), time.process_time())

        def log(step, record):
            curve.append((step, record["rel_l2"], (time.perf_counter() - start[0]) / 60,
                          (time.process_time() - start[1]) / 60))

        cost = train_timed(model, task, train_config(HelmholtzTask, steps, args), log)
        model.eval()
        out = Path(args.out or tempfile.mkdtemp()) / f"{velocity}_{name}_{formulation}"
        out.mkdir(parents=True, exist_ok=True)
        err = task.write_outputs(model, out, [{"step": c[0], "rel_l2": c[1]} for c in curve])[0]["rel_l2"]
        hit = next((c for c in curve if c[1] <= 0.1), None)
        rows.append({"velocity": velocity, "model": name, "formulation": formulation, "rel_l2": err,
                     "step_10": hit[0] if hit else None, "wall_10": hit[2] if hit else None,
                     "cpu_10": hit[3] if hit else None, "steps": steps, **cost, "threads": torch.get_num_threads(),
                     "curve": curve})
        print(f"  {velocity} {name} {formulation}: {err:.1%} ({cost['wall_min']:.1f} min)", flush=True)
    return helmholtz_result(rows, args)


def helmholtz_result(rows: list, args) -> dict:
    """Table columns, title and figure of Helmholtz rows (from this run or --merge'd JSON files)."""
    columns = [("velocity", "velocity", "{}"), ("model", "model", "{}"), ("formulation", "formulation", "{}"),
               ("rel_l2", "rel. L2", "{:.1%}"), ("step_10", "step to 10%", "{}"),
               ("wall_10", "wall min to 10%", "{:.1f}"), ("cpu_10", "CPU min to 10%", "{:.1f}"), *COSTS]
    return {"rows": rows, "columns": columns, "missing": "not reached", "figure": curves,
            "title": f"Helmholtz k = {args.k:g}, source (0, 0): relative L2 vs the FD solver over [-0.5, 0.5]^2, "
                     "defaults of `siren helmholtz`"}


PROBLEMS = {"wave": bench_wave, "helmholtz": bench_helmholtz}
MERGE = {"helmholtz": helmholtz_result}
COSTS = [("steps", "steps", "{}"), ("s_per_step", "s/step", "{:.3f}"), ("wall_min", "wall min", "{:.1f}"),
         ("cpu_min", "CPU min", "{:.1f}"), ("threads", "threads", "{}")]


def table(result: dict) -> str:
    """Markdown table of a problem's rows over its columns (key, header, format); None prints as 'missing'."""
    cols = result["columns"]
    lines = [f"**{result['title']}**", "", "| " + " | ".join(h for _, h, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in result["rows"]:
        cells = [result.get("missing", "-") if r[key] is None else fmt.format(r[key]) for key, _, fmt in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves(result: dict, path: Path) -> None:
    """Relative L2 against the solver by training step, one line per row, log scale, the 10% target dashed."""
    from siren import viz
    plt = viz.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for r in result["rows"]:
        steps, errs = zip(*((c[0], c[1]) for c in r["curve"]))
        ax.semilogy(steps, errs, label=f"{r['model']}, {r['formulation']}, {r['velocity']}")
    ax.axhline(0.1, color="k", ls="--", lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("relative L2 vs FD solver")
    ax.set_title(result["title"].split(":")[0])
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def strip(result: dict, path: Path) -> None:
    """One row per solution (FDTD first), one column per time, each column on the FDTD frame's +-peak scale."""
    from siren import viz
    plt = viz.pyplot()
    frames, times = result["frames"], result["times"]
    rows = list(frames)
    errs = {r["model"]: [r[f"t={t:g}"] for t in times] for r in result["rows"]}
    fig, axes = plt.subplots(len(rows), len(times), figsize=(2.3 * len(times) + 0.4, 2.3 * len(rows)), squeeze=False,
                             constrained_layout=True)
    for c, t in enumerate(times):
        scale = float(np.abs(frames["FDTD"][c]).max())
        for r, name in enumerate(rows):
            ax = axes[r, c]
            ax.imshow(frames[name][c].T, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r", vmin=-scale, vmax=scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if name in errs:
                ax.set_xlabel(f"{errs[name][c]:.1%}", fontsize=9)
        axes[0, c].set_title(f"t = {t:g}")
    for r, name in enumerate(rows):
        axes[r, 0].set_ylabel(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("problem", choices=sorted(PROBLEMS))
    p.add_argument("--models", help="comma-separated model names (wave default siren,tanh; helmholtz default "
                   "siren,tanh,siren:total, NAME:FORMULATION picking the formulation, scattered by default)")
    p.add_argument("--steps", type=int, help="training steps (default: the task's)")
    p.add_argument("--log-every", type=int, default=500, help="score on the coarse grid every N steps")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: one core of a shared CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", type=Path, help="write the problem's figure (wave: frame strip; helmholtz: error "
                   "curves) to this PNG")
    p.add_argument("--velocities", default="circle,uniform", help="helmholtz: comma-separated velocity models")
    p.add_argument("--k", type=float, default=20.0, help="helmholtz: wavenumber")
    p.add_argument("--merge", type=Path, nargs="+", help="helmholtz: print the table (and --figure) of the rows in "
                   "these --json files instead of running")
    p.add_argument("--out", help="helmholtz: write each run's outputs (figures, wavefield.npz) under this folder")
    p.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.problem} on {cpu_name()}, torch {torch.__version__}, "
          f"{args.threads} thread(s)", flush=True)
    if args.merge and args.problem not in MERGE:
        p.error(f"--merge is for {', '.join(MERGE)}")
    if args.merge:
        result = MERGE[args.problem]([r for path in args.merge for r in json.loads(path.read_text())], args)
    else:
        result = PROBLEMS[args.problem](args)
    print(table(result))
    if args.figure:
        result["figure"](result, args.figure)
        print(f"wrote {args.figure}")
    if args.json:
        args.json.write_text(json.dumps(result["rows"], indent=2, default=float))


if __name__ == "__main__":
    main()
