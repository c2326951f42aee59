"""The model x task matrix: every network family on every task, in one run, on inputs the tests do not use.

    python benchmarks/models.py                                   # every family, every task (CPU-sized settings)
    python benchmarks/models.py --models siren,finer --tasks image,heldout --json runs/models.json
    python benchmarks/models.py --from-json a.json,b.json --figure docs/images/models.png   # redraw, no training

Tasks (each through the CLI, `siren ...`, in this process, seed 0, with the family's hints as any user gets them;
--scale multiplies every step count):
    image     coffee, rocket, chelsea at 96 px, the paper's settings (`--preset paper`: every pixel, Adam 1e-4): PSNR
              at steps 100 and 300; and the defaults: seconds to 30 dB (`--target 30`, at most 800 steps)
    heldout   the same images, the paper's settings, fitted on the pixels with (row + column) even and scored on the
              others (a fit that memorises its pixels is not a representation): held-out PSNR after 300 steps
    audio     a 1 s, 8 kHz clip of two chirps and a tone: SNR after 500 steps
    video     8 frames of 32 x 32 panned across chelsea: mean PSNR after 300 steps
    poisson   coffee at 64 px from its Laplacian alone: image PSNR (up to a constant) after 400 steps
    sdf       a capsule (trimesh), 5,000 surface points with normals: Chamfer and normal consistency, 400 steps
    helmholtz c = 2 inside a square, k = 10, source (0.1, -0.2): relative L2 against the FD solver, 600 steps
    wave      c = 1, source (0.2, -0.1), T = 0.4: relative L2 against FDTD, 800 steps
Printed: one table per task (a row per family, the task's metrics and seconds per step), medians over images
where there are several. CPU timings: the run shares the machine; compare within a run.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from siren.cli import main as cli
from siren.data.image import demo_image, image_signal, resize_image
from siren.metrics import mse_to_psnr
from siren.models import MODEL_NAMES, build_model
from siren.tasks.fit import SignalFitTask
from siren.train import TrainConfig, fit
from machine import cpu_name

FAMILIES = [m for m in ("siren", "finer", "gauss", "wire", "hashgrid", "relu_pe") if m in MODEL_NAMES]
TASKS = ("image", "heldout", "audio", "video", "poisson", "sdf", "helmholtz", "wave")
IMAGES = ("coffee", "rocket", "chelsea")
QUIET = ["--no-progress", "--no-report"]


def _steps(n: int, scale: float) -> int:
    return max(2, round(n * scale))


def _run(args: list[str], out: Path) -> tuple[dict, list[dict]]:
    """`siren <args> --out out` -> (metrics.json's metrics, metrics.jsonl records); ({}, []) when it failed."""
    if cli([*args, *QUIET, "--out", str(out)]) != 0:
        return {}, []
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return json.loads((out / "metrics.json").read_text())["metrics"], history


def _per_step(history: list[dict]) -> float:
    return history[-1]["time"] / history[-1]["step"] if history else float("nan")


def image(model: str, tmp: Path, scale: float) -> dict:
    rows = []
    for name in IMAGES:
        steps = _steps(300, scale)
        m, h = _run(["fit", "image", "--demo", name, "--size", "96", "--preset", "paper", "--steps", str(steps),
                     "--log-every", str(_steps(100, scale)), "--model", model], tmp / f"{model}_{name}_paper")
        at = {r["step"]: r["psnr"] for r in h}
        _, fast = _run(["fit", "image", "--demo", name, "--size", "96", "--target", "30", "--steps",
                        str(_steps(800, scale)), "--log-every", "10", "--model", model], tmp / f"{model}_{name}_fast")
        hit = next((r["time"] for r in fast if r.get("psnr", 0) >= 30), float("nan"))
        rows.append({"psnr_100": at.get(_steps(100, scale), float("nan")), "psnr_300": m.get("psnr", float("nan")),
                     "seconds_to_30db": hit, "s_per_step": _per_step(h)})
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]} | {
        "psnr_300_each": [round(r["psnr_300"], 2) for r in rows]}


class HeldOut(SignalFitTask):
    """Fit the pixels with (row + column) even; evaluate PSNR (dB, [0, 1]) on the others."""

    def __init__(self, signal):
        super().__init__(signal)
        h, w = signal.shape
        keep = ((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0).ravel()
        self.train_idx, self.test_idx = torch.from_numpy(np.flatnonzero(keep)), torch.from_numpy(np.flatnonzero(~keep))

    def loss(self, model, step, generator):
        c, v = self.coords[self.train_idx], self.values[self.train_idx]
        return {"mse": ((model(c) - v).pow(2).mean(), 1.0)}

    def evaluate(self, model):
        with torch.no_grad():
            err = ((model(self.coords[self.test_idx]) - self.values[self.test_idx]) / 2).pow(2).mean()
        return {"psnr": mse_to_psnr(float(err))}


def heldout(model: str, tmp: Path, scale: float) -> dict:
    out, t0 = [], time.perf_counter()
    steps = _steps(300, scale)
    for name in IMAGES:
        task = HeldOut(image_signal(resize_image(demo_image(name), 96)))
        torch.manual_seed(0)
        net = build_model(model, 2, task.out_features, hints=task.model_hints())
        result = fit(net, task, TrainConfig(steps=steps, lr=1e-4, log_every=steps, progress=False))
        out.append(result.history[-1]["psnr"])
    return {"heldout_psnr": statistics.median(out), "heldout_each": [round(p, 2) for p in out],
            "s_per_step": (time.perf_counter() - t0) / (steps * len(IMAGES))}


def audio(model: str, tmp: Path, scale: float) -> dict:
    from scipy.io import wavfile
    rate = 8000
    t = np.arange(rate) / rate
    clip = (0.4 * np.sin(2 * np.pi * (200 * t + 900 * t ** 2)) + 0.3 * np.sin(2 * np.pi * (3000 * t - 1200 * t ** 2))
            + 0.2 * np.sin(2 * np.pi * 660 * t))
    path = tmp / "chirps.wav"
    wavfile.write(path, rate, (clip / np.abs(clip).max() * 30000).astype(np.int16))
    m, h = _run(["fit", "audio", str(path), "--steps", str(_steps(500, scale)), "--model", model], tmp / f"{model}_a")
    return {"snr": m.get("snr", float("nan")), "s_per_step": _per_step(h)}


def video(model: str, tmp: Path, scale: float) -> dict:
    cat = resize_image(demo_image("chelsea"), 64)
    frames = np.stack([cat[8:40, 3 * i:3 * i + 32] for i in range(8)]).astype(np.float32)
    np.save(tmp / "pan.npy", frames)
    m, h = _run(["fit", "video", str(tmp / "pan.npy"), "--steps", str(_steps(300, scale)), "--model", model],
                tmp / f"{model}_v")
    return {"psnr": m.get("psnr_mean", float("nan")), "s_per_step": _per_step(h)}


def poisson(model: str, tmp: Path, scale: float) -> dict:
    m, h = _run(["poisson", "--demo", "coffee", "--size", "64", "--supervise", "laplacian", "--steps",
                 str(_steps(400, scale)), "--model", model], tmp / f"{model}_p")
    return {"psnr": m.get("psnr", float("nan")), "psnr_lap": m.get("psnr_lap", float("nan")),
            "s_per_step": _per_step(h)}


def sdf(model: str, tmp: Path, scale: float) -> dict:
    import trimesh
    path = tmp / "capsule.xyz"
    if not path.exists():
        mesh = trimesh.creation.capsule(height=1.0, radius=0.4, count=[48, 48])
        pts, faces = trimesh.sample.sample_surface(mesh, 5000, seed=1)
        np.savetxt(path, np.hstack([pts, mesh.face_normals[faces]]))
    m, h = _run(["sdf", str(path), "--points", "5000", "--batch", "2500", "--resolution", "96", "--steps",
                 str(_steps(400, scale)), "--model", model], tmp / f"{model}_s")
    return {"chamfer": m.get("chamfer", float("nan")), "normal_consistency": m.get("normal_consistency", float("nan")),
            "s_per_step": _per_step(h)}


def helmholtz(model: str, tmp: Path, scale: float) -> dict:
    m, h = _run(["helmholtz", "--velocity", "square", "--k", "10", "--source=0.1,-0.2", "--n", "96", "--points",
                 "2048", "--steps", str(_steps(600, scale)), "--model", model], tmp / f"{model}_h")
    return {"rel_l2": m.get("rel_l2", float("nan")), "s_per_step": _per_step(h)}


def wave(model: str, tmp: Path, scale: float) -> dict:
    steps = _steps(800, scale)
    m, h = _run(["wave", "--source=0.2,-0.1", "--duration", "0.4", "--n", "48", "--points", "1000", "--ic-points",
                 "500", "--pretrain", str(max(1, steps // 8)), "--solver-points", "192", "--steps", str(steps),
                 "--model", model], tmp / f"{model}_w")
    return {"rel_l2": m.get("rel_l2", float("nan")), "s_per_step": _per_step(h)}


def _fmt(v) -> str:
    if isinstance(v, list):
        return " / ".join(f"{x:g}" for x in v)
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


MAIN = {"image": ("psnr_300", "PSNR (dB), 300 steps, paper settings", 1), "heldout": ("heldout_psnr",
         "held-out PSNR (dB)", 1), "audio": ("snr", "SNR (dB)", 1), "video": ("psnr", "PSNR (dB)", 1),
         "poisson": ("psnr", "PSNR (dB) from the Laplacian", 1), "sdf": ("chamfer", "Chamfer distance (lower)", -1),
         "helmholtz": ("rel_l2", "relative L2 (lower)", -1), "wave": ("rel_l2", "relative L2 (lower)", -1)}


def figure(results: dict, path: str) -> None:
    """One bar chart per task of its main metric (MAIN), a bar per family; the best family's bar outlined."""
    from siren.viz import pyplot
    plt = pyplot()
    tasks = [t for t in MAIN if t in results]
    cols = min(4, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        key, label, sign = MAIN[task]
        names = list(results[task])
        vals = [results[task][m].get(key, float("nan")) for m in names]
        finite = [v for v in vals if v == v]
        best = max(finite, key=lambda v: sign * v) if finite else None
        bars = ax.bar(names, [v if v == v else 0 for v in vals], color=["C%d" % i for i in range(len(names))])
        for bar, v in zip(bars, vals):
            if v == best:
                bar.set_edgecolor("black")
                bar.set_linewidth(2)
        if sign < 0:
            ax.set_yscale("log")
        ax.set_title(f"{task}: {label}", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict) -> str:
    lines = []
    for task, rows in results.items():
        keys = list(next(iter(rows.values())))
        lines += [f"\n**{task}**\n", "| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        lines += [f"| {model} | " + " | ".join(_fmt(r[k]) for k in keys) + " |" for model, r in rows.items()]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(FAMILIES), help="comma-separated families")
    ap.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every step count (e.g. 0.1 for a smoke run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--figure", help="write the bar charts here (PNG)")
    ap.add_argument("--from-json", help="comma-separated --json files of earlier runs: merge, print, draw; no training")
    args = ap.parse_args(argv)
    if args.from_json:
        results = {}
        for f in args.from_json.split(","):
            for task, rows in json.loads(Path(f).read_text()).items():
                results.setdefault(task, {}).update(rows)
        print(table(results))
        if args.figure:
            figure(results, args.figure)
        return
    torch.set_num_threads(args.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks.split(","):
            results[task] = {}
            for model in args.models.split(","):
                t0 = time.perf_counter()
                results[task][model] = globals()[task](model, Path(tmp), args.scale)
                print(f"{task} {model}: {results[task][model]} ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\n{cpu_name()}, {args.threads} threads, torch {torch.__version__}, "
          f"step scale {args.scale:g}")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.figure:
        figure(results, args.figure)


if __name__ == "__main__":
    main()
