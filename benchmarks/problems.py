"""Every example of examples/problems solved with the solve task's defaults (SIREN, Adam, cosine schedule) at larger
settings, scored against its independent reference: relative L2 (the cavity: max |u - Ghia| / max |Ghia| on the
centre lines; the inverse problem: relative L2 of k(x)), seconds per step, on this CPU with one thread.

    python benchmarks/problems.py [--steps 3000] [--only burgers,wave] [--balance] [--adaptive] [--causal]
                                  [--float64] [--deepxde] [--families [siren,finer,...]] [--figures DIR]
                                  [--plot FILE] [--seed 0]

Each option adds a row per example: --balance gradient-norm weights (`Problem(balance="gradnorm")`), --adaptive
residual-based sampling of every residual (`Adaptive()`), --causal causal weights in time of every residual of a
space-time example (`Causal()`), --float64 training in double precision (`dtype="float64"`); --families one row
per model family (default: every family with second derivatives) at the same budget; --deepxde the same example in
DeepXDE 1.15 (`benchmarks/deepxde_problems.py`: tanh MLP of the same width and depth, Adam 1e-3, the same point
counts, weights, hard constraints and steps), run in a process of its own right after this library's run, so that
both share the machine's load alike; its row's `to_match` is the time this library's run needed to reach
DeepXDE's final error (its first log step at or below it). --plot draws each example's error against time.
Writes benchmarks/results/problems.json (or --out) and prints a Markdown table (docs/problem.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_name  # noqa: E402

EXAMPLES = {            # example: (the score and what it is)
    "burgers": ("rel_l2", "relative L2 vs Cole-Hopf"),
    "heat_lshape": ("rel_l2", "relative L2 vs FD (129^2, exact in time)"),
    "poisson_hole": ("rel_l2", "relative L2 vs P2 FEM"),
    "cavity": ("max_error", "max centre-line error / max |Ghia| (u, v)"),
    "inverse_k": ("error_k", "relative L2 of k(x)"),
    "wave": ("rel_l2", "relative L2 vs d'Alembert"),
}
VARIANTS = ("balance", "adaptive", "causal", "float64")
FAMILIES = "siren,finer,gauss,wire,tanh,softplus,sigmoid,elu,selu,rff,relu_pe,rbf,hashgrid"  # relu: no 2nd derivative


def score(name: str, metrics: dict) -> float | None:
    """The example's score from a metrics record (metrics.json or a log step)."""
    if name == "cavity":
        return max(metrics["max_error_u"], metrics["max_error_v"]) if "max_error_u" in metrics else None
    return metrics.get(EXAMPLES[name][0])


def solve_example(name: str, steps: int, variant: str = "fixed", model: str = "siren",
                  figures: Path | None = None, seed: int = 0) -> dict:
    """This library on one example: variant "fixed" (the example as written) or one of VARIANTS."""
    import siren
    from siren.problem import Adaptive, Causal, SpaceTime
    from siren.tasks.solve import load_problem_file
    problem, reference = load_problem_file(ROOT / "examples" / "problems" / f"{name}.py")
    residuals = [c for c in problem.constraints.values() if type(c).__name__ == "Residual"]
    if variant == "balance":
        problem.balance = "gradnorm"
    elif variant == "adaptive":
        for c in residuals:
            c.adaptive = Adaptive()
    elif variant == "causal":
        if not isinstance(problem.domain, SpaceTime):
            return {}
        for c in residuals:
            c.causal = Causal()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sol = siren.solve(problem, model=model, steps=steps, reference=reference, out=Path(tmp) / "run", seed=seed,
                          progress=False, report=False, dtype="float64" if variant == "float64" else "float32")
        seconds = time.perf_counter() - start
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(tmp) / "run" / "solution.png", figures / f"{name}_{variant}_{model}.png")
    return {"example": name, "library": "siren", "model": model, "variant": variant, "steps": steps, "seed": seed,
            "score": score(name, sol.metrics), "what": EXAMPLES[name][1], "seconds": seconds,
            "seconds_per_step": sol.history[-1]["time"] / steps, "metrics": sol.metrics,
            "curve": [(h["time"], score(name, h)) for h in sol.history if score(name, h) is not None]}


def deepxde_example(name: str, steps: int, width: int, depth: int, seed: int = 0) -> dict:
    """DeepXDE on one example, in a process of its own (one thread)."""
    env = {**os.environ, "DDE_BACKEND": "pytorch", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "deepxde_problems.py"), name, "--steps",
                          str(steps), "--width", str(width), "--depth", str(depth), "--seed", str(seed)], env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"DeepXDE failed on {name}:\n{run.stderr[-2000:]}")
    out = json.loads(run.stdout.strip().splitlines()[-1])
    return {**out, "library": "deepxde 1.15", "model": f"tanh {width} x {depth}", "variant": "fixed", "seed": seed,
            "what": EXAMPLES[name][1]}


def time_to(curve: list, target: float) -> float | None:
    """The first time of an (seconds, error) curve at which the error is at most `target`."""
    return next((t for t, e in curve if e <= target), None)


def plot(rows: list, path: Path) -> None:
    """Each example's error against training time: this library's log steps (a line per row), DeepXDE's end."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(r["example"] for r in rows))
    cols = min(3, len(names))
    fig, axes = plt.subplots(-(-len(names) // cols), cols, figsize=(3.6 * cols, 2.8 * -(-len(names) // cols)),
                             squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        for r in (r for r in rows if r["example"] == name):
            label = r["library"] if r["library"] != "siren" else f"siren ({r['model']}, {r['variant']})"
            if "curve" in r:
                ax.plot(*zip(*r["curve"]), label=label)
            else:
                ax.plot([r["seconds"]], [r["score"]], "ko", label=label)
        ax.set(title=name, xlabel="seconds", yscale="log")
        ax.legend(fontsize=6)
    for row in axes:
        row[0].set_ylabel("error (see the table)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--only", default=",".join(EXAMPLES))
    for v in VARIANTS:
        parser.add_argument(f"--{v}", action="store_true")
    parser.add_argument("--deepxde", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="?", const=FAMILIES, default=None)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "problems.json"))
    parser.add_argument("--figures", default=None, help="copy each run's solution.png into this folder")
    parser.add_argument("--plot", default=None, help="draw each example's error against time into this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    variants = ["fixed", *(v for v in VARIANTS if getattr(args, v))]
    families = args.families.split(",") if args.families else ["siren"]
    rows = []
    for name in args.only.split(","):
        runs = [(v, "siren") for v in variants] + [("fixed", f) for f in families if f != "siren"]
        for variant, model in runs:
            row = solve_example(name, args.steps, variant, model, args.figures and Path(args.figures), args.seed)
            if row:
                rows.append(row)
                print(f"{name:13s} {model:9s} {variant:8s} {row['score']:.3g} ({row['what']})  "
                      f"{row['seconds_per_step']:.3f} s/step", flush=True)
            if args.deepxde and (variant, model) == ("fixed", "siren"):      # right after this library's run
                rows.append(deepxde_example(name, args.steps, 64, 3, args.seed))
                rows[-1]["to_match"] = time_to(row["curve"], rows[-1]["score"])
                print(f"{name:13s} deepxde   fixed    {rows[-1]['score']:.3g}  "
                      f"{rows[-1]['seconds_per_step']:.3f} s/step", flush=True)
            Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "threads": 1, "steps": args.steps,
                                                  "seed": args.seed, "rows": rows}, indent=1))
    if args.plot:
        plot(rows, Path(args.plot))
    print(f"\n{cpu_name()}, 1 thread, {args.steps} steps\n\n| example | library | model | variant | error | "
          "s / step | seconds | siren's time to DeepXDE's error |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        match = r.get("to_match", "")
        match = "not reached" if match is None else (f"{match:.0f} s" if match != "" else "")
        print(f"| {r['example']} | {r['library']} | {r['model']} | {r['variant']} | {r['score']:.2g} | "
              f"{r['seconds_per_step']:.3f} | {r['seconds']:.0f} | {match} |")


if __name__ == "__main__":
    main()
