"""PDE benchmarks: neural solutions scored against the numerical reference solvers, one table per problem.

    python benchmarks/pde.py wave [--models siren,tanh,relu] [--steps N] [--threads 1] [--figure PNG] [--json PATH]

Each problem is a function in PROBLEMS that trains every model on the problem at its task's defaults, scores it
against the reference solver and returns table rows; the script prints one markdown table per problem (a Helmholtz
table can join as another entry of PROBLEMS).

wave: `siren wave` with its defaults (c = 1, source (0, 0), sigma 0.1, T = 0.5; 2,000 residual + 1,000
initial-condition points a step, the time-window curriculum, Adam 3e-4 with cosine decay, networks 128 wide with 3
hidden layers) for every model at the same settings. Columns: relative L2 against FDTD on the 256 x 256 grid at
t = 0.1, 0.2, 0.4; steps; seconds per step; wall and CPU minutes of the training (CPU = process time, all threads);
intra-op threads. --figure writes a frame strip: FDTD and every model at t = 0.1, 0.2, 0.4.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from siren.models import build_model
from siren.train import TrainConfig, fit

WAVE_TIMES = (0.1, 0.2, 0.4)


def train_timed(model, task, cfg) -> dict:
    """Train; wall and CPU (process) seconds of the training."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit(model, task, cfg)
    return {"wall_min": (time.perf_counter() - wall) / 60, "cpu_min": (time.process_time() - cpu) / 60,
            "s_per_step": (time.perf_counter() - wall) / cfg.steps}


def bench_wave(args) -> dict:
    """Every model on `siren wave`'s defaults: rows of rel. L2 at WAVE_TIMES and costs, and frames for the strip."""
    from siren.tasks.wave import WaveConfig, WaveTask, relative_l2
    defaults = WaveTask.train_defaults
    steps = args.steps or defaults["steps"]
    task = WaveTask.from_config(WaveConfig(), steps=steps)
    ref = task.solve_fdtd(task.n, WAVE_TIMES).numpy()
    rows, frames = [], {"FDTD": ref}
    for name in args.models.split(","):
        torch.manual_seed(args.seed)
        model = build_model(name, 3, 1, **task.model_options(name))
        cfg = TrainConfig(steps=steps, lr=defaults["lr"], schedule=defaults["schedule"], log_every=args.log_every,
                          checkpoint_every=steps + 1, seed=args.seed, progress=False)
        cost = train_timed(model, task, cfg)
        model.eval()
        u = task.predict(model, WAVE_TIMES, task.n).numpy()
        errs = [relative_l2(a, b) for a, b in zip(u, ref)]
        rows.append({"model": name, **{f"t={t:g}": e for t, e in zip(WAVE_TIMES, errs)}, "steps": steps, **cost,
                     "threads": torch.get_num_threads(),
                     "width": model.spec["options"].get("hidden_features", 256)})
        frames[name] = u
        print(f"  {name}: " + ", ".join(f"{e:.1%}" for e in errs) + f" ({cost['wall_min']:.1f} min)", flush=True)
    return {"rows": rows, "frames": frames, "times": WAVE_TIMES,
            "title": f"wave equation, relative L2 vs FDTD ({task.n} x {task.n} grid), defaults of `siren wave`"}


PROBLEMS = {"wave": bench_wave}


def table(result: dict) -> str:
    """Markdown table of a problem's rows."""
    times = [k for k in result["rows"][0] if k.startswith("t=")]
    head = ["model", *(f"rel. L2 {t}" for t in times), "steps", "s/step", "wall min", "CPU min", "threads"]
    lines = [f"**{result['title']}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["rows"]:
        cells = [r["model"], *(f"{r[t]:.1%}" for t in times), str(r["steps"]), f"{r['s_per_step']:.3f}",
                 f"{r['wall_min']:.1f}", f"{r['cpu_min']:.1f}", str(r["threads"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
    p.add_argument("--models", default="siren,tanh", help="comma-separated model names (e.g. siren,tanh,relu)")
    p.add_argument("--steps", type=int, help="training steps (default: the task's)")
    p.add_argument("--log-every", type=int, default=500, help="score on the coarse grid every N steps")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: one core of a shared CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", type=Path, help="write the frame strip to this PNG")
    p.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.problem} on {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} thread(s)", flush=True)
    result = PROBLEMS[args.problem](args)
    print(table(result))
    if args.figure:
        strip(result, args.figure)
        print(f"wrote {args.figure}")
    if args.json:
        args.json.write_text(json.dumps(result["rows"], indent=2))


if __name__ == "__main__":
    main()
