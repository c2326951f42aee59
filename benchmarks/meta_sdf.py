"""Shape priors (`siren meta sdf`) against the standard SIREN init: Chamfer distance after k steps on held-out shapes.

    python benchmarks/meta_sdf.py                      # meta-train (or reuse / resume the run), print the table
    python benchmarks/meta_sdf.py --steps 50 --shapes 2 --standard-steps 20 --out /tmp/quick

Data: the demo shapes of `siren.data.shapeset` (procedural tori, capsules, boxes and their unions from trimesh's
primitives; every 10th shape held out whole). The prior: `siren meta sdf --demo` with a modulated SIREN 3 -> --width
x (--layers + 1) -> 1 (first omega_0 5, as `siren sdf`), a latent of --latent numbers, K = --inner-steps SGD steps
at learned per-dimension rates, second order, --batch surface (and as many uniform) points per shape, 4 shapes per
meta step, outer Adam --lr (base) and --rates-lr (rates), the first --warmup steps fitting the base to a sphere,
1 thread.

Scores, on the first --shapes held-out shapes: each fitted by `siren sdf`'s task (its loss, --batch surface and as
many uniform points per step, one seeded draw per step shared by every route) from the prior (only the latent, by
SGD at the learned rates: what `siren sdf SCAN --init RUN` does) and from the standard init (all weights by Adam at
a constant learning rate: --standard WxL@LR, --hidden-features W --hidden-layers L; default the base's size without
a latent at `siren sdf`'s learning rate, and `siren sdf`'s default network at the paper's), meshed by marching
cubes at --resolution^3 (`SDFTask.scored_mesh`: pieces far from the points dropped alike) after each scored step,
Chamfer distance against 20,000 exact surface points (units of the shape's bounding-box diagonal; a field without a
zero crossing scores nan and counts as not matched). Reported: mean Chamfer per scored step, and the first scored
standard step whose mean Chamfer is at most the prior's after --prior-steps steps. Results:
benchmarks/results/meta_sdf.json. Meta-training time is reported (shared cores: an upper bound).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from siren.data.shapeset import DEMO_SHAPES, demo_shapes
from siren.errors import SirenError
from siren.launch import launch, load_init
from siren.models import ModelConfig, apply_init, build_model
from siren.run_folder import CHECKPOINT
from siren.tasks.meta_sdf import MetaSDFConfig, MetaSDFTask
from siren.tasks.sdf import FIRST_FREQUENCY, SDFTask
from siren.train import TrainConfig
from machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
PRIOR_SHOWN = (0, 1, 2, 3, 5, 10)


def train(args) -> tuple[Path, float]:
    """Meta-train (or reuse / resume) the run under args.out -> (run, seconds of training); with --run, that run's
    checkpoint as it is (seconds: its last logged time)."""
    if args.run:
        log = (Path(args.run) / "metrics.jsonl").read_text().splitlines()
        return Path(args.run), float(json.loads(log[-1])["time"])
    out = Path(args.out)
    done = out / "metrics.json"
    if not (done.is_file() and json.loads(done.read_text())["steps"] >= args.steps):
        cfg = MetaSDFConfig(demo=True, batch=args.batch, inner_steps=args.inner_steps, inner_lr=args.inner_lr,
                            latent_features=args.latent, rates_lr=args.rates_lr, warmup=args.warmup)
        launch(MetaSDFTask, cfg, ModelConfig(hidden_features=args.width, hidden_layers=args.layers),
               TrainConfig(steps=args.steps, lr=args.lr, log_every=100, checkpoint_every=100, device="cpu",
                           progress=False), out, resume=(out / CHECKPOINT).is_file(),
               command={"benchmark": "meta_sdf.py"}, report=False)
    return out, float(json.loads(done.read_text())["seconds"])


def scored(task: SDFTask, model) -> float:
    """Chamfer of the model's zero level set against the task's reference (nan without a surface)."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")              # pieces dropped, open meshes: alike for every route
            return float(task.scored_mesh(lambda x: model(x)[:, 0])[1]["chamfer"])
    except SirenError:
        return float("nan")


def fit_curve(task: SDFTask, model, optimizer, shown: tuple[int, ...], seed: int) -> dict[int, float]:
    """Chamfer after each step of `shown`, training `model` on the task's loss (optimizer None: the model updates
    itself in backward, a LatentSiren's latent SGD)."""
    gen = torch.Generator().manual_seed(seed)
    out = {0: scored(task, model)} if 0 in shown else {}
    for step in range(1, max(shown) + 1):
        loss = sum(w * t for t, w in task.loss(model, step - 1, gen).values())
        if optimizer is not None:
            optimizer.zero_grad()
        loss.backward()
        if optimizer is not None:
            optimizer.step()
        if step in shown:
            out[step] = scored(task, model)
    return out


def first_at_most(curve: dict[int, float], target: float) -> int | None:
    return next((k for k in sorted(curve) if curve[k] <= target), None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=800, help="meta steps")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--inner-steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=256, help="surface points per shape per step (meta and test time)")
    p.add_argument("--lr", type=float, default=3e-4, help="outer Adam learning rate of the base")
    p.add_argument("--inner-lr", type=float, default=3e-4, help="the learned rates' start")
    p.add_argument("--rates-lr", type=float, default=1e-5)
    p.add_argument("--warmup", type=int, default=0, help="first steps fitting the base to a sphere")
    p.add_argument("--shapes", type=int, default=8, help="held-out shapes scored")
    p.add_argument("--prior-steps", type=int, default=10, help="test-time steps from the prior that are matched")
    p.add_argument("--prior-lr", type=float, nargs="+", default=[1.0], help="factors on the learned rates at test "
                   "time (`siren sdf --init RUN --lr F`); 1 is the meta-trained setting, the one matched")
    p.add_argument("--standard-steps", type=int, nargs="+", default=[10, 20, 30, 50, 75, 100, 150, 200])
    p.add_argument("--standard", nargs="*", default=["128x2@5e-4", "256x3@1e-4"], metavar="WxL@LR",
                   help="standard-init routes: width x hidden layers @ Adam learning rate")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "runs" / "meta_sdf"))
    p.add_argument("--run", help="score this run's checkpoint as it is (no training)")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "meta_sdf.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    run, seconds = train(args)
    source, record = load_init(run)
    rates = record["test_time"]["rates"]
    shapes = demo_shapes(DEMO_SHAPES)                   # the run's demo set (its default size)
    held = [s for i, s in enumerate(shapes) if i % 10 == 9][:args.shapes]
    from siren.data.pointcloud import point_cloud
    prior_shown = tuple(sorted({*PRIOR_SHOWN, args.prior_steps}))
    routes = {"prior": []} if 1.0 in args.prior_lr else {}
    standard = []
    for route in args.standard:
        size, lr = route.split("@")
        w, l = (int(v) for v in size.split("x"))
        standard.append((f"standard {w}x{l}, Adam lr {float(lr):g}", w, l, float(lr)))
    for name, *_ in standard:
        routes[name] = []
    for i, shape in enumerate(held):
        cloud = point_cloud(*shape.sample(4096, seed=shapes.index(shape)), name=shape.name)
        exact, normals = shape.sample(20_000, seed=10_000 + i)
        task = SDFTask(cloud, (cloud.to_model_units(exact), normals), batch=args.batch, resolution=args.resolution)
        base = build_model("siren", 3, 1, hints={"first_omega_0": FIRST_FREQUENCY}, hidden_features=args.width,
                           hidden_layers=args.layers, latent_features=args.latent)
        for factor in args.prior_lr:
            name = "prior" if factor == 1 else f"prior, rates x {factor:g}"
            model = apply_init(base, source, str(run), [factor * r for r in rates])
            t = time.perf_counter()
            routes.setdefault(name, []).append(fit_curve(task, model, None, prior_shown, seed=i))
            print(f"{shape.name}: {name} {routes[name][-1]} ({time.perf_counter() - t:.0f} s)", flush=True)
        for name, width, layers, lr in standard:
            torch.manual_seed(i)
            model = build_model("siren", 3, 1, hints={"first_omega_0": FIRST_FREQUENCY}, hidden_features=width,
                                hidden_layers=layers)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            routes[name].append(fit_curve(task, model, opt, (0, *args.standard_steps), seed=i))
            print(f"  {name}: {routes[name][-1]}", flush=True)
    mean = {name: {k: float(np.mean([c[k] for c in curves])) for k in curves[0]} for name, curves in routes.items()}
    target = mean["prior"][args.prior_steps]
    match = {name: first_at_most(curve, target) for name, curve in mean.items() if name.startswith("standard")}
    meta_steps = int(torch.load(run / CHECKPOINT, map_location="cpu", weights_only=False)["step"])
    result = {"cpu": cpu_name(), "threads": 1, "meta_steps": meta_steps, "meta_seconds": seconds,
              "meta_command": json.loads((run / "config.json").read_text())["command"],
              "settings": {k: v for k, v in vars(args).items() if k in ("shapes", "prior_steps", "prior_lr",
                                                                         "standard_steps", "standard", "resolution",
                                                                         "batch")},
              "held_out": [s.name for s in held], "mean_chamfer": mean, "per_shape": routes,
              "prior_steps": args.prior_steps, "prior_chamfer": target, "standard_steps_matching": match}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1))
    print(f"meta-training: {meta_steps} steps, {seconds:.0f} s; held-out shapes: {len(held)}")
    for name, curve in mean.items():
        print(f"| {name} | " + " | ".join(f"{k}: {v:.4f}" for k, v in curve.items()) + " |")
    for name, k in match.items():
        print(f"{name}: first scored step at or below the prior's {args.prior_steps}-step Chamfer {target:.4f}: "
              f"{k if k is not None else '> ' + str(max(args.standard_steps))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
