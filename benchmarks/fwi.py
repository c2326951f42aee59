"""FWI benchmark: `siren fwi` at its defaults on the circle model (synthetic data) and on the reference code's
receiver data, SIREN against the adjoint-state baseline on the same data.

    python benchmarks/fwi.py [--models siren] [--steps N] [--threads 1] [--runs DIR] [--figures docs/images]

Each case trains every model with the task's defaults (`FWITask.train_defaults`, `model_hints`) into
DIR/<case>-<model> and runs the baseline (L-BFGS-B, `--baseline-iters` of the task) in the task's outputs. Columns:
velocity MSE of c over [-0.5, 0.5]^2 of the SIREN and of the baseline (circle only: the .mat data's true velocity
is unknown), relative data misfit of both, relative L2 of the SIREN's fields against the FD fields
(`wavefield_rel_l2`: in the true velocity, for the .mat data in the SIREN's own), steps, wall minutes of the
training, CPU minutes of the whole run (process time: data, training, baseline, outputs), baseline seconds,
threads, CPU model. Figures: velocity.png of the first model's runs, copied to fwi_circle.png and
fwi_reference_data.png.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from siren.tasks.fwi import FWIConfig, FWITask
from siren.train import TrainConfig
from siren.launch import run
from machine import cpu_name

MAT = Path(__file__).parents[1] / "tests" / "data" / "siren_fwi" / "data_cylinder_5.mat"
CASES = {"circle": FWIConfig(velocity="circle"), "reference data": FWIConfig(data=str(MAT))}
FIGURES = {"circle": "fwi_circle.png", "reference data": "fwi_reference_data.png"}


def bench(case: str, model: str, args, out: Path) -> dict:
    cpu = time.process_time()
    task = FWITask.from_config(CASES[case])
    defaults = {**TrainConfig().__dict__, **FWITask.train_defaults, "progress": False, "seed": args.seed}
    cfg = TrainConfig(**{**defaults, **({"steps": args.steps} if args.steps else {})})
    summary = run(task, model, cfg, out, overwrite=True, report=False)[2]
    m = summary["metrics"]
    return {"case": case, "model": model, "mse_siren": m.get("velocity_mse_siren"),
            "mse_baseline": m.get("velocity_mse_baseline"), "misfit_siren": m["data_misfit_siren"],
            "misfit_baseline": m["data_misfit_baseline"], "wavefield": m["wavefield_rel_l2"], "steps": summary["steps"],
            "wall_min": summary["seconds"] / 60, "cpu_min": (time.process_time() - cpu) / 60,
            "baseline_s": m["baseline_seconds"], "threads": torch.get_num_threads(), "cpu": cpu_name()}


def table(rows: list) -> str:
    fmt = lambda v: "n/a (unknown c)" if v is None else f"{v:.4f}"        # noqa: E731
    head = ["data", "model", "velocity MSE SIREN", "velocity MSE baseline", "data misfit SIREN",
            "data misfit baseline", "wavefield rel. L2 SIREN", "steps", "train wall min", "CPU min (whole run)",
            "baseline s", "threads", "CPU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([r["case"], r["model"], fmt(r["mse_siren"]), fmt(r["mse_baseline"]),
                                        f"{r['misfit_siren']:.2e}", f"{r['misfit_baseline']:.2e}",
                                        f"{r['wavefield']:.3f}", str(r["steps"]),
                                        f"{r['wall_min']:.1f}", f"{r['cpu_min']:.1f}", f"{r['baseline_s']:.1f}",
                                        str(r["threads"]), r["cpu"]]) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="siren", help="comma-separated model names (e.g. siren,tanh)")
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated cases ({', '.join(CASES)})")
    p.add_argument("--steps", type=int, help="training steps (default: the task's)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: one core of a shared CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=Path, help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--figures", type=Path, default=Path("docs/images"), help="folder of the two figures")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"FWI on {cpu_name()}, torch {torch.__version__}, {args.threads} thread(s)", flush=True)
    runs = args.runs or Path(tempfile.mkdtemp(prefix="fwi-bench-"))
    rows = []
    for case in args.cases.split(","):
        for i, model in enumerate(args.models.split(",")):
            out = runs / f"{case.replace(' ', '_')}-{model}"
            rows.append(bench(case, model, args, out))
            print(f"  {case}, {model}: {rows[-1]}", flush=True)
            if i == 0:
                args.figures.mkdir(parents=True, exist_ok=True)
                shutil.copy(out / "velocity.png", args.figures / FIGURES[case])
    print(table(rows))


if __name__ == "__main__":
    main()
