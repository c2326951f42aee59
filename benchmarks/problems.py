"""Every example of examples/problems solved with the solve task's defaults (SIREN, Adam, cosine schedule) at larger
settings, scored against its independent reference: relative L2 (the cavity: max |u - Ghia| / max |Ghia| on the
centre lines; the inverse problem: relative L2 of k(x)), seconds per step, on this CPU with one thread.

    python benchmarks/problems.py [--steps 3000] [--only burgers,wave] [--balance] [--figures DIR]

--balance also runs each example with gradient-norm weights (`Problem(balance="gradnorm")`) to measure them against
the fixed weights. Writes benchmarks/results/problems.json and prints a Markdown table (docs/problem.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_name  # noqa: E402

EXAMPLES = {            # example: (steps, the score and what it is)
    "burgers": ("rel_l2", "relative L2 vs Cole-Hopf"),
    "heat_lshape": ("rel_l2", "relative L2 vs FD (129^2, exact in time)"),
    "poisson_hole": ("rel_l2", "relative L2 vs P2 FEM"),
    "cavity": ("max_error", "max centre-line error / max |Ghia| (u, v)"),
    "inverse_k": ("error_k", "relative L2 of k(x)"),
    "wave": ("rel_l2", "relative L2 vs d'Alembert"),
}


def solve_example(name: str, steps: int, balance: bool, figures: Path | None = None) -> dict:
    import siren
    from siren.tasks.solve import load_problem_file
    problem, reference = load_problem_file(ROOT / "examples" / "problems" / f"{name}.py")
    if balance:
        problem.balance = "gradnorm"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        sol = siren.solve(problem, steps=steps, reference=reference, out=Path(tmp) / "run", progress=False,
                          report=False)
        seconds = time.perf_counter() - start
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(tmp) / "run" / "solution.png", figures / f"{name}_{'gradnorm' if balance else 'fixed'}.png")
    m = sol.metrics
    key = EXAMPLES[name][0]
    score = max(m["max_error_u"], m["max_error_v"]) if name == "cavity" else m[key]
    return {"example": name, "balance": "gradnorm" if balance else "fixed", "steps": steps, "score": score,
            "what": EXAMPLES[name][1], "seconds": seconds, "seconds_per_step": sol.history[-1]["time"] / steps,
            "metrics": m}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--only", default=",".join(EXAMPLES))
    parser.add_argument("--balance", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "problems.json"))
    parser.add_argument("--figures", default=None, help="copy each run's solution.png into this folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.only.split(","):
        for balance in (False, True) if args.balance else (False,):
            rows.append(solve_example(name, args.steps, balance, args.figures and Path(args.figures)))
            r = rows[-1]
            print(f"{name:13s} {r['balance']:8s} {r['score']:.3g} ({r['what']})  {r['seconds_per_step']:.3f} s/step",
                  flush=True)
            Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "threads": 1, "rows": rows}, indent=1))
    print(f"\n{cpu_name()}, 1 thread\n\n| example | weights | steps | error | s / step |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['example']} | {r['balance']} | {r['steps']} | {r['score']:.2g} ({r['what']}) | "
              f"{r['seconds_per_step']:.3f} |")


if __name__ == "__main__":
    main()
