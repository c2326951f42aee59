"""Image fitting: SIREN vs the paper's baselines at equal steps (issue 2's table).

    python benchmarks/image_fit.py [--size 256] [--steps 500] [--models siren,relu,relu_pe,rff,tanh] [--device auto]

Cameraman (skimage.data.camera) resized to --size, 3x256 hidden, Adam lr 1e-4, full image per step.
Prints a markdown table: PSNR (dB, on [0, 1]) at each of --at, and median seconds per step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from siren.data.image import demo_image, image_signal, resize_image
from siren.models import build_model
from siren.runtime import tune_allocator
from siren.tasks.fit_image import ImageFitTask
from siren.train import TrainConfig, fit, resolve_device
from machine import cpu_name


def bench(name: str, image: str, size: int, steps: int, at: list[int], lr: float, device, seed: int) -> dict:
    """Train one model; PSNR at the steps in `at`, median wall time between consecutive steps."""
    task = ImageFitTask(image_signal(resize_image(demo_image(image), size))).to(device)
    torch.manual_seed(seed)
    model = build_model(name, 2, task.out_features, hints=task.model_hints()).to(device)
    evaluate, psnr, times, clock = task.evaluate, {}, [], [0, time.perf_counter()]

    def evaluate_at(m):  # the loop logs every step; only evaluate where a PSNR is reported
        clock[0] += 1
        return evaluate(m) if clock[0] in at else {}

    def timed(step, rec):
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        times.append(now - clock[1])
        clock[1] = now
        if step in at:
            psnr[step] = rec["psnr"]

    task.evaluate = evaluate_at
    cfg = TrainConfig(steps=steps, lr=lr, log_every=1, checkpoint_every=steps + 1, seed=seed, progress=False)
    fit(model, task, cfg, callback=timed)
    return {"psnr": psnr, "s_per_step": statistics.median(times)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="cameraman")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--at", default="100,300,500", help="steps at which to report PSNR")
    p.add_argument("--models", default="siren,relu,relu_pe,rff,tanh")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    tune_allocator()  # as the CLI does
    device = resolve_device(a.device)
    at = [int(s) for s in a.at.split(",") if int(s) <= a.steps]
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{cpu_name()} CPU, {torch.get_num_threads()} threads"
    print(f"{a.image} {a.size}px, 3x256 hidden, Adam lr {a.lr:g}, full batch, seed {a.seed}; torch {torch.__version__} on {dev}\n")
    print("| model | " + " | ".join(f"PSNR @ {s}" for s in at) + " | s / step (median) |")
    print("|---" * (len(at) + 2) + "|")
    for name in a.models.split(","):
        r = bench(name, a.image, a.size, a.steps, at, a.lr, device, a.seed)
        print(f"| {name} | " + " | ".join(f"{r['psnr'][s]:.2f}" for s in at) + f" | {r['s_per_step']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
