"""Shapes from oriented points (Eikonal SDF): quality per model, speed against the reference code's way, meshing.

    python benchmarks/sdf.py                         # torus, 20k points: siren vs relu vs relu_pe + reference way
    python benchmarks/sdf.py --shape bunny --seeds 0,1,2 --reference-steps 0   # the Stanford bunny scan ('.[shapes]')
    python benchmarks/sdf.py --meshing runs/sdf --resolutions 256,512   # dense vs coarse-to-fine on a trained run
    python benchmarks/sdf.py --untrained                   # every family, 10 steps, full-size mesh: the budget holds

Training table: every model trains with the task's defaults (`siren sdf`: its loss, sampler and `siren.diff`;
SIREN with the task's first-layer omega_0, FIRST_FREQUENCY in siren.tasks.sdf), the same steps, seed and points;
then the zero level set is meshed at --resolution by `siren.mesh` and scored (Chamfer and F-score at 1% in units of
the reference's bounding-box diagonal, normal consistency) against the exact surface (analytic shapes) or the input
points (bunny). As `siren sdf` writes it, the mesh keeps only the pieces that come within KEEP_WITHIN of the bbox
diagonal of an input point; the table also gives the scores with every piece kept, and how much was dropped.

The "reference way" row is the same loss and the reference code's SIREN (first omega_0 30) written as the reference
code does it (experiment_scripts/train_sdf.py with loss_functions.sdf): the sampler draws surface indices with numpy
(with replacement) and uniform points on the CPU each step, the gradient comes from
torch.autograd.grad(create_graph=True), every term is a mean over the whole 2B batch with the other half zeroed and
weights 3e3, 1e2, 1e2, 5e1, Adam at lr 1e-4. It runs in the same process, on the same points and seed, for
--reference-steps steps (default: the steps the reference code's quality needs here), and its mesh is scored the same
way, so the table shows time to the same quality.

Meshing table: wall time and peak resident memory of `siren mesh` (a fresh process each, GNU-time style
ru_maxrss of the child) for dense and coarse-to-fine marching cubes of the same trained SDF.

Untrained table (--untrained): `siren sdf --demo sphere --model M --steps 10` with every other option at its default
(the mesh at 256^3 under the default --mesh-memory), one fresh process per model family under `/usr/bin/time -v`:
its exit code, wall time, CPU time (user + system: the cost when other work shares the cores), peak RSS, the
resolution the mesh was made at and its faces, and whether the checkpoint was written (a row that runs past
--row-timeout is stopped and says so). A field this far from trained may cross zero almost everywhere; the mesh
memory budget must keep every row far below the memory of a full-resolution mesh of such a field (tens of GB).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from siren.cli import main as cli
from siren.models import MODEL_NAMES, build_model
from siren.runtime import tune_allocator
from siren.tasks.sdf import FIRST_FREQUENCY, KEEP_WITHIN, SDFConfig, SDFTask
from machine import cpu_name

DEFAULT_MODELS = "siren,relu,relu_pe"


def reference_way(task: SDFTask, steps: int, seed: int, lr: float = 1e-4):
    """The reference code's training loop for the same task data -> (model, seconds)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model("siren", 3, 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    points, normals = task.points.numpy(), task.normals.numpy()
    b = task.batch
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = rng.choice(len(points), b)
        coords = np.concatenate([points[idx], rng.uniform(-1, 1, (b, 3))]).astype(np.float32)
        gt_sdf = torch.cat([torch.zeros(b, 1), -torch.ones(b, 1)])
        gt_normals = torch.from_numpy(np.concatenate([normals[idx], -np.ones((b, 3), np.float32)]))
        x = torch.from_numpy(coords).requires_grad_(True)
        y = model(x)
        grad = torch.autograd.grad(y, [x], grad_outputs=torch.ones_like(y), create_graph=True)[0]
        on = gt_sdf != -1
        sdf = torch.where(on, y, torch.zeros_like(y)).abs().mean() * 3e3
        inter = torch.where(on, torch.zeros_like(y), torch.exp(-1e2 * y.abs())).mean() * 1e2
        cos = torch.nn.functional.cosine_similarity(grad, gt_normals, dim=-1)[:, None]
        normal = torch.where(on, 1 - cos, torch.zeros_like(y)).mean() * 1e2
        eikonal = (grad.norm(dim=-1) - 1).abs().mean() * 5e1
        loss = sdf + inter + normal + eikonal
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), time.perf_counter() - t0


def train_table(args) -> None:
    config = SDFConfig(demo=args.shape, points=args.points, batch=args.batch, resolution=args.resolution)
    from siren.viz import pyplot
    plt = pyplot()
    seeds = [int(s) for s in str(args.seeds).split(",")]
    rows, pictures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name in args.models.split(","):
                out = Path(tmp) / f"{name}_{seed}"
                argv = ["sdf", "--demo", args.shape, "--points", str(args.points), "--batch", str(args.batch),
                        "--resolution", str(args.resolution), "--model", name, "--seed", str(seed),
                        "--no-progress", "--out", str(out)] + (["--steps", str(args.steps)] if args.steps else [])
                assert cli(argv) == 0
                summary = json.loads((out / "metrics.json").read_text())
                rows.append((f"{name} (siren sdf)", seed, summary["steps"], summary["seconds"], summary["metrics"]))
                if seed == seeds[0] and (out / "mesh.png").is_file():
                    pictures[name] = (plt.imread(out / "mesh.png"), summary["metrics"])
                if name == "siren" and seed == seeds[0] and args.keep:
                    import shutil
                    shutil.copytree(out, args.keep, dirs_exist_ok=True)
        if args.reference_steps:
            task = SDFTask.from_config(config)
            model, seconds = reference_way(task, args.reference_steps, seeds[0])
            rows.append(("siren (reference way)", seeds[0], args.reference_steps, seconds,
                         task.scored_mesh(lambda x: model(x)[:, 0])[1]))
    if args.figure and pictures:
        fig, axes = plt.subplots(len(pictures), 1, figsize=(10, 5 * len(pictures)), squeeze=False)
        for ax, (name, (img, m)) in zip(axes[:, 0], pictures.items()):
            ax.imshow(img)
            ax.set_title(f"{name}: Chamfer {m['chamfer']:.4f}, normal consistency {m['normal_consistency']:.3f}")
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=80)
    print(f"\n{args.shape}, {args.points} points, batch {args.batch} + {args.batch}, mesh at {args.resolution}^3, "
          f"siren first omega_0 {FIRST_FREQUENCY:g} (the reference way's 30), pieces farther than {KEEP_WITHIN:g} "
          f"of the bbox diagonal from every point dropped (the all-pieces Chamfer / normal consistency beside); "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_name()}")
    print("\n| model | seed | steps | train s | s / step | Chamfer (bbox diag) | normal consistency | F-score @1% "
          "| pieces dropped (area) | all pieces: Chamfer / NC |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, seed, steps, seconds, m in rows:
        dropped = m.get("pieces_dropped", 0)
        whole = (f"{m['chamfer_all_pieces']:.4f} / {m['normal_consistency_all_pieces']:.3f}" if dropped
                 else "same")
        print(f"| {name} | {seed} | {steps} | {seconds:.0f} | {seconds / steps:.3f} | {m['chamfer']:.4f} | "
              f"{m['normal_consistency']:.3f} | {m['f_score']:.3f} | {dropped} ({100 * m.get('area_dropped', 0):.1f}%) "
              f"| {whole} |")
    models = {row[0] for row in rows} - {"siren (siren sdf)", "siren (reference way)"}
    for other in sorted(models):
        wins = sum(1 for seed in seeds if _beats(rows, "siren (siren sdf)", other, seed))
        print(f"\nsiren beats {other} on both Chamfer and normal consistency with {wins} of {len(seeds)} seeds")


def _beats(rows, a: str, b: str, seed: int) -> bool:
    """Row a has the lower Chamfer and the higher normal consistency than row b, same seed."""
    ma, mb = ([m for name, s, _, _, m in rows if name == which and s == seed][0] for which in (a, b))
    return ma["chamfer"] < mb["chamfer"] and ma["normal_consistency"] > mb["normal_consistency"]


def meshing_table(args) -> None:
    print(f"\nmeshing {args.meshing}: `siren mesh`, a fresh process each; {torch.get_num_threads()} threads")
    print("\n| resolution | method | wall s | peak RSS MiB | faces |")
    print("|---|---|---|---|---|")
    for res in (int(r) for r in args.resolutions.split(",")):
        for method in ("dense", "coarse_to_fine") if res <= args.dense_max else ("coarse_to_fine",):
            with tempfile.TemporaryDirectory() as tmp:
                code = (f"import sys, json, resource, time; from siren.mesh import extract_mesh; "
                        f"from siren.run_folder import load_checkpoint, model_from_checkpoint; import torch; "
                        f"m = model_from_checkpoint(load_checkpoint({str(args.meshing)!r})).eval(); t = time.time(); "
                        f"mesh = extract_mesh(lambda x: m(x)[:, 0], {res}, method={method!r}); "
                        f"print(json.dumps({{'s': time.time() - t, 'faces': len(mesh.faces), "
                        f"'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))")
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp)
                r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {res} | {method} | {r['s']:.1f} | {r['rss']:.0f} | {r['faces']} |")


def untrained_table(args) -> None:
    models = args.models.split(",") if args.models != DEFAULT_MODELS else list(MODEL_NAMES)
    print(f"\n`siren sdf --demo sphere --model M --steps {args.untrained_steps}` (mesh at 256^3 asked, default "
          f"--mesh-memory), a fresh process each under /usr/bin/time -v; {os.cpu_count()} cores, {cpu_name()}")
    print("\n| model | exit | wall s | CPU s | peak RSS MiB | mesh resolution | faces | checkpoint |")
    print("|---|---|---|---|---|---|---|---|")
    for name in models:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            child = subprocess.Popen(["/usr/bin/time", "-v", sys.executable, "-m", "siren.cli", "sdf", "--demo",
                                      "sphere", "--model", name, "--steps", str(args.untrained_steps), "--no-progress",
                                      "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
            try:
                stderr = child.communicate(timeout=args.row_timeout)[1]
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.communicate()
                print(f"| {name} | killed after {args.row_timeout} s | | | | | | {(out / 'checkpoint.pt').is_file()} |",
                      flush=True)
                continue
            time_v = dict(line.strip().rsplit(": ", 1) for line in stderr.splitlines()
                          if line.startswith("\t") and ": " in line)
            wall = time_v["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
            seconds = sum(float(v) * 60 ** i for i, v in enumerate(reversed(wall)))
            m = json.loads((out / "metrics.json").read_text())["metrics"] if (out / "metrics.json").is_file() else {}
            rss = int(time_v["Maximum resident set size (kbytes)"]) / 1024
            cpu = float(time_v["User time (seconds)"]) + float(time_v["System time (seconds)"])
            print(f"| {name} | {child.returncode} | {seconds:.0f} | {cpu:.0f} | {rss:.0f} | "
                  f"{m.get('resolution', 'none')} | {m.get('faces', 0)} | {(out / 'checkpoint.pt').is_file()} |",
                  flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="torus", choices=["sphere", "torus", "bunny"])
    p.add_argument("--points", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=5_000)
    p.add_argument("--steps", type=int, help="training steps (default: the task's)")
    p.add_argument("--reference-steps", type=int, default=1000, help="steps of the reference-way run (0: skip)")
    p.add_argument("--models", default=DEFAULT_MODELS, help="(with --untrained the default is every family)")
    p.add_argument("--resolution", type=int, default=128, help="mesh grid for scoring")
    p.add_argument("--seeds", default="0", help="comma-separated training seeds: a row per model and seed")
    p.add_argument("--keep", help="copy the siren run folder here (e.g. for --meshing)")
    p.add_argument("--figure", help="PNG with each model's mesh, one row per model")
    p.add_argument("--meshing", help="a trained `siren sdf` run folder: time dense vs coarse-to-fine meshing")
    p.add_argument("--resolutions", default="256,512")
    p.add_argument("--dense-max", type=int, default=256, help="time the dense method only up to this resolution "
                   "(512 dense is 134 M network evaluations: about 10 minutes on 2 cores)")
    p.add_argument("--untrained", action="store_true", help="every family after a few steps: the mesh memory budget")
    p.add_argument("--untrained-steps", type=int, default=10)
    p.add_argument("--row-timeout", type=float, default=600, help="--untrained: stop a row after this many seconds")
    args = p.parse_args()
    tune_allocator()
    torch.set_num_threads(int(os.environ.get("SIREN_THREADS", os.cpu_count() or 1)))
    if args.untrained:
        untrained_table(args)
    elif args.meshing:
        meshing_table(args)
    else:
        train_table(args)


if __name__ == "__main__":
    main()
