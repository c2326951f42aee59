"""Poisson reconstruction: the paper's table (tanh / ReLU P.E. / SIREN x gradient / Laplacian supervision).

    python benchmarks/poisson_table.py [--size 64] [--steps 300] [--device auto] [--figure PATH]

Cameraman (skimage.data.camera) resized to --size, 3x256 hidden, Adam lr 1e-4, full image per step, only the
gradient (Sobel) or the Laplacian (5-point) supervised; images aligned and PSNRs normalised as documented in
`siren.tasks.poisson` (image on [0, 1]; gradient and Laplacian with the truth's range as the peak). Prints a markdown
table of image / gradient / Laplacian PSNR next to the paper's (10k steps at 256 px), the SIREN-minus-best-baseline
margins, and seconds per step; saves a figure with image, |gradient| and Laplacian of the truth and of every run.
The default scale (64 px, 300 steps) took about 40 minutes on a busy 2-core CPU (Laplacian runs 1-2.5 s a step);
--size 256 --steps 2000 took 5 minutes on an H100; the paper's scale is --size 256 --steps 10000.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from siren import viz
from siren.data.image import demo_image, resize_image
from siren.models import build_model
from siren.tasks.poisson import image_task
from siren.train import TrainConfig, fit, resolve_device
from machine import cpu_name

PAPER = {("tanh", "gradient"): (25.79, 19.11, 18.59), ("tanh", "laplacian"): (7.11, 11.14, 16.35),
         ("relu_pe", "gradient"): (26.35, 19.33, 14.24), ("relu_pe", "laplacian"): (11.14, 11.35, 18.31),
         ("siren", "gradient"): (32.91, 46.85, 19.88), ("siren", "laplacian"): (14.95, 23.45, 57.13)}
COLUMNS = ("psnr", "psnr_grad", "psnr_lap")
SUPERVISIONS = ("gradient", "laplacian")


def bench(name: str, supervise: str, img, args, device) -> dict:
    """Train one model on one supervision; final PSNRs, seconds per step (training only), rows for the figure."""
    task = image_task(img, supervise).to(device)
    torch.manual_seed(args.seed)
    model = build_model(name, 2, task.out_features, hidden_features=args.hidden_features,
                        hidden_layers=args.hidden_layers, hints=task.model_hints()).to(device)
    task.evaluate = lambda m: {}  # score once, after training, outside the timed loop
    cfg = TrainConfig(steps=args.steps, lr=args.lr, log_every=args.steps, checkpoint_every=args.steps + 1,
                      seed=args.seed, progress=False)
    t0 = time.perf_counter()
    fit(model, task, cfg)
    seconds = (time.perf_counter() - t0) / args.steps
    model.eval()
    solved = task.solve(model)
    return {"scores": task.scores(*solved), "s_per_step": seconds, "rows": task.derivative_rows(*solved)}


def margins(results: dict, models: list) -> list[str]:
    """Markdown rows: SIREN minus the best baseline per supervision and column, ours and the paper's."""
    rows = []
    baselines = [m for m in models if m != "siren"]
    for sup in SUPERVISIONS:
        cells = []
        for j, col in enumerate(COLUMNS):
            ours = results[("siren", sup)]["scores"][col] - max(results[(b, sup)]["scores"][col] for b in baselines)
            paper = PAPER[("siren", sup)][j] - max(PAPER[(b, sup)][j] for b in baselines)
            ahead = "yes" if ours > 0 or paper <= 0 else "**no**"
            cells.append(f"{ours:+.2f} / {paper:+.2f} ({ahead})")
        rows.append(f"| {sup} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="cameraman")
    p.add_argument("--size", type=int, default=64, help="longer side in pixels (paper: 256)")
    p.add_argument("--steps", type=int, default=300, help="Adam steps per run (paper: 10000)")
    p.add_argument("--models", default="tanh,relu_pe,siren")
    p.add_argument("--hidden-features", type=int, default=256)
    p.add_argument("--hidden-layers", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", help="PNG path (default benchmarks/results/poisson_<size>px_<steps>steps.png)")
    p.add_argument("--json", help="also write the scores to this JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing figure / JSON")
    a = p.parse_args()
    models = a.models.split(",")
    if "siren" not in models or any((m, "gradient") not in PAPER for m in models):
        p.error(f"--models must include siren and come from {', '.join(sorted({m for m, _ in PAPER}))}")
    figure = Path(a.figure or Path(__file__).parent / "results" / f"poisson_{a.size}px_{a.steps}steps.png")
    for path in (figure, a.json and Path(a.json)):
        if path and path.exists() and not a.overwrite:
            p.error(f"{path} exists (pass --overwrite or another path)")
    device = resolve_device(a.device)
    img = resize_image(demo_image(a.image), a.size)
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{cpu_name()} CPU, {torch.get_num_threads()} threads"
    print(f"{a.image} {img.shape[0]}x{img.shape[1]}px, {a.hidden_layers}x{a.hidden_features} hidden, Adam lr {a.lr:g}, "
          f"{a.steps} steps, full image per step, seed {a.seed}; torch {torch.__version__} on {dev}\n")
    print("| model | supervised on | image PSNR (ours / paper) | gradient PSNR | Laplacian PSNR | s / step |")
    print("|---|---|---|---|---|---|")
    results, rows = {}, {}
    for sup in SUPERVISIONS:
        for name in models:
            r = results[(name, sup)] = bench(name, sup, img, a, device)
            truth, fitted = r["rows"].values()
            rows.setdefault("ground truth", truth)
            rows[f"{name}, {sup}"] = fitted
            cells = " | ".join(f"{r['scores'][c]:.2f} / {v:.2f}" for c, v in zip(COLUMNS, PAPER[(name, sup)]))
            print(f"| {name} | {sup} | {cells} | {r['s_per_step']:.3f} |", flush=True)
    print("\nSIREN minus the best baseline, ours / paper (ahead where the paper is ahead?):\n")
    print("| supervised on | image | gradient | Laplacian |")
    print("|---|---|---|---|")
    print("\n".join(margins(results, models)))
    figure.parent.mkdir(parents=True, exist_ok=True)
    viz.derivative_figure(rows, figure)
    print(f"\nfigure: {figure}")
    if a.json:
        Path(a.json).write_text(json.dumps({f"{m},{s}": {"scores": r["scores"], "s_per_step": r["s_per_step"]}
                                            for (m, s), r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
