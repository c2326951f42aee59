"""Cost against size: what a run's stages take as the input grows (scans, images, audio), in one run.

    python benchmarks/scale.py [--scans 20000,200000,2000000,10000000] [--images 256,512,1024,2048,4096]
                               [--audio 1,10,60,600] [--steps 20] [--quick]

Each size runs in a fresh process (so its peak resident memory is its own), with the CLI's allocator tuning and
the library's defaults (a SIREN of 3 x 256, each task's default batch), as `siren sdf`, `siren fit image` and
`siren fit audio` run them:

    scans   a torus sampled uniformly by area, N points written as a binary little-endian PLY without normals;
            read = `load_points(estimate=False)`, normals = `estimate_normals` (k = 16), step = one training step
            (the mean over --steps, the first included), outputs = the mesh (marching cubes at 256^3, pieces far
            from the points dropped) and its metrics against the N points
    images  scikit-image's astronaut resized to S x S (anti-aliased), a PNG; read = load and make the signal
    audio   T seconds at 44.1 kHz of three tones, a chirp and noise, a 16-bit WAV; read = load and make the signal

outputs = everything `write_outputs` does (exact metrics over the whole signal, the files, the figures). Peak RSS is
the process's high-water mark of resident memory (VmHWM) at the end. The growth exponent of a stage is the slope of a
least-squares line through (log size, log seconds) over the sizes where it took at least 0.05 s (a constant
cost gives ~0, a linear one ~1). Writes benchmarks/results/scale.json and scale.md, and docs/images/scale.png.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_name, peak_rss

ROOT = Path(__file__).resolve().parents[1]
RATE = 44_100
STAGES = {"scans": ("read", "normals", "step", "outputs"), "images": ("read", "step", "outputs"),
          "audio": ("read", "step", "outputs")}
UNITS = {"scans": "points", "images": "pixels a side", "audio": "seconds"}


def write_scan(path: Path, n: int) -> None:
    """n points on a torus (R 0.5, r 0.2), uniform by area, as a binary PLY of float32 x y z (no normals)."""
    from siren.shapes import Torus, sample_surface
    points = sample_surface(Torus(0.5, 0.2), n, seed=0)[0].astype("<f4")
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\nproperty float y\n"
              f"property float z\nend_header\n").encode()
    with open(path, "wb") as f:
        f.write(header)
        points.tofile(f)


def write_image(path: Path, size: int) -> None:
    import imageio.v3 as iio
    import skimage.data
    from siren.data.image import resize_image, to_float_image
    img = resize_image(to_float_image(skimage.data.astronaut()), size)
    iio.imwrite(path, np.floor(img * 255 + 0.5).astype(np.uint8))


def write_audio(path: Path, seconds: float) -> None:
    from scipy.io import wavfile
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 660 * t) + 0.1 * np.sin(2 * np.pi * 1500 * t)
         + 0.2 * np.sin(2 * np.pi * (100 + 900 * (t % 5) / 5) * t) + 0.02 * rng.standard_normal(len(t)))
    wavfile.write(path, RATE, (x / np.abs(x).max() * 0.9 * 32767).astype(np.int16))


def measure(kind: str, path: Path, steps: int, out: Path) -> dict:
    """In this (fresh) process: the seconds of each stage of `kind` on the file `path`, and the peak RSS."""
    import torch

    from siren.data.pointcloud import PointCloud, estimate_normals, load_points
    from siren.launch import run
    from siren.runtime import tune_allocator
    from siren.tasks.fit_audio import AudioConfig, AudioFitTask
    from siren.tasks.fit_image import ImageConfig, ImageFitTask
    from siren.tasks.sdf import SDFTask
    from siren.train import TrainConfig
    tune_allocator()
    seconds = {}
    t = time.perf_counter()
    if kind == "scans":
        cloud = load_points(path, estimate=False)
        seconds["read"] = time.perf_counter() - t
        t = time.perf_counter()
        normals = estimate_normals(cloud.points)
        seconds["normals"] = time.perf_counter() - t
        task, defaults = SDFTask(PointCloud(cloud.points, normals, cloud.center, cloud.scale)), SDFTask.train_defaults
    else:
        cls, config = ((ImageFitTask, ImageConfig(path=str(path))) if kind == "images"
                       else (AudioFitTask, AudioConfig(path=str(path))))
        task, defaults = cls.from_config(config), cls.train_defaults
    if kind != "scans":
        seconds["read"] = time.perf_counter() - t
    cfg = TrainConfig(steps=steps, lr=defaults.get("lr", 1e-4), schedule=defaults.get("schedule"), log_every=steps,
                      checkpoint_every=steps, progress=False, device="cpu")
    t = time.perf_counter()
    _, _, summary = run(task, "siren", cfg, out, {}, overwrite=True, report=False)
    total = time.perf_counter() - t
    seconds["step"] = summary["seconds"] / steps
    seconds["outputs"] = total - summary["seconds"]
    return {"seconds": seconds, "peak_rss_gb": peak_rss() / 2 ** 30, "threads": torch.get_num_threads()}


def exponent(sizes, times) -> float | None:
    """Slope of log(time) against log(size) over the sizes where time >= 0.05 s (None for fewer than two)."""
    keep = [(s, t) for s, t in zip(sizes, times) if t >= 0.05]
    if len(keep) < 2:
        return None
    return float(np.polyfit(np.log([s for s, _ in keep]), np.log([t for _, t in keep]), 1)[0])


def table(results: dict) -> str:
    lines = []
    for kind, rows in results.items():
        stages = STAGES[kind]
        lines += [f"\n**{kind}** (size in {UNITS[kind]})\n", "| size | " + " | ".join(f"{s} (s)" for s in stages)
                  + " | peak RSS (GB) |", "|---|" + "---|" * (len(stages) + 1)]
        for size, r in rows.items():
            lines.append(f"| {size:,} | " + " | ".join(f"{r['seconds'][s]:.3g}" for s in stages)
                         + f" | {r['peak_rss_gb']:.2f} |")
        sizes = [float(s) ** (2 if kind == "images" else 1) for s in rows]     # an image's size: its pixel count
        slopes = [exponent(sizes, [r["seconds"][s] for r in rows.values()]) for s in stages]
        rss = exponent(sizes, [r["peak_rss_gb"] for r in rows.values()])
        unit = "pixels" if kind == "images" else UNITS[kind]
        lines.append(f"| growth exponent (per {unit}) | " + " | ".join("-" if e is None else f"{e:.2f}" for e in slopes)
                     + f" | {'-' if rss is None else f'{rss:.2f}'} |")
    return "\n".join(lines)


def figure(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(results), figsize=(4.2 * len(results), 7), squeeze=False, constrained_layout=True)
    for c, (kind, rows) in enumerate(results.items()):
        sizes = [float(s) ** (2 if kind == "images" else 1) for s in rows]
        for stage in STAGES[kind]:
            axes[0, c].loglog(sizes, [max(r["seconds"][stage], 1e-3) for r in rows.values()], "o-", label=stage)
        axes[1, c].loglog(sizes, [r["peak_rss_gb"] for r in rows.values()], "o-", color="k")
        unit = "pixels" if kind == "images" else UNITS[kind]
        axes[0, c].set_title(kind)
        axes[0, c].set_ylabel("seconds (a step: per step)")
        axes[0, c].legend(fontsize=8)
        axes[1, c].set_xlabel(unit)
        axes[1, c].set_ylabel("peak RSS (GB)")
        for r in range(2):
            axes[r, c].grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", default="20000,200000,2000000,10000000")
    parser.add_argument("--images", default="256,512,1024,2048,4096")
    parser.add_argument("--audio", default="1,10,60,600")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]), args.steps, Path(args.child[2]))))
        return
    if args.quick:
        args.scans, args.images, args.audio, args.steps = "2000,20000", "64,128", "0.5,2", 3
    sizes = {"scans": [int(s) for s in args.scans.split(",") if s],
             "images": [int(s) for s in args.images.split(",") if s],
             "audio": [float(s) for s in args.audio.split(",") if s]}
    writers = {"scans": (write_scan, ".ply"), "images": (write_image, ".png"), "audio": (write_audio, ".wav")}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, values in sizes.items():
            results[kind] = {}
            for size in values:
                write, suffix = writers[kind]
                path = Path(tmp) / f"{kind}_{size}{suffix}"
                write(path, size)
                proc = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--child", kind, str(path),
                                       str(Path(tmp) / "run")], capture_output=True, text=True)
                path.unlink()
                if proc.returncode != 0:
                    print(f"{kind} {size}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                results[kind][size] = json.loads(proc.stdout.strip().splitlines()[-1])
                r = results[kind][size]
                print(f"{kind} {size}: " + ", ".join(f"{k} {v:.3g} s" for k, v in r["seconds"].items())
                      + f", peak {r['peak_rss_gb']:.2f} GB", flush=True)
    cpu = cpu_name()
    text = table(results)
    print(text)
    if not args.quick:
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        (out / "scale.json").write_text(json.dumps({"cpu": cpu, "steps": args.steps, "results": results}, indent=1))
        threads = {r["threads"] for rows in results.values() for r in rows.values()}
        (out / "scale.md").write_text(f"CPU: {cpu}, torch threads {sorted(threads)}; {args.steps} steps a size\n"
                                      f"{text}\n")
        figure(results, ROOT / "docs" / "images" / "scale.png")


if __name__ == "__main__":
    main()
