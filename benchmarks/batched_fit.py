"""Batched fitting vs one run per image: N images fitted by N `train.fit` runs of a plain Siren, or by one
`train.fit` run of a BatchedSiren over all N (member i seeded like run i, so both start from the same weights).

Images: N square crops of the scikit-image demo pictures (gray, random position and side between 1/4 and 1/2 of
the picture's shorter side, seeded), resized to SIZE x SIZE. Prints a markdown table: total seconds (model
building, training and the final evaluation; after a warm-up) and mean PSNR, plus the largest per-image PSNR
difference between the two ways. On CPU, `siren.runtime.tune_allocator()` is applied first (both ways gain).

    python benchmarks/batched_fit.py                       # 64 images of 32x32, 200 steps, width 256
    python benchmarks/batched_fit.py --device cpu --num-images 16 --hidden-features 64 --steps 100
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from siren.data.image import DEMOS, demo_image, image_signal, resize_image
from siren.models import build_model
from siren.runtime import tune_allocator
from siren.tasks.fit_image import ImageFitTask
from siren.tasks.fit_batch import BatchFitTask
from siren.train import TrainConfig, fit, resolve_device


def crops(n: int, size: int, seed: int) -> list[np.ndarray]:
    """n gray (size, size, 1) images in [0, 1], cut from the bundled demo pictures."""
    from skimage.color import rgb2gray
    rng = np.random.default_rng(seed)
    pictures = [demo_image(name) for name in DEMOS]
    pictures = [rgb2gray(p)[..., None] if p.shape[-1] == 3 else p for p in pictures]
    out = []
    for i in range(n):
        pic = pictures[i % len(pictures)]
        short = min(pic.shape[:2])
        side = int(rng.integers(short // 4, short // 2 + 1))
        y, x = (int(rng.integers(0, s - side + 1)) for s in pic.shape[:2])
        out.append(resize_image(pic[y:y + side, x:x + side], size))
    return out


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sequential(signals, arch, cfg, device, seed):
    """One plain Siren and one train.fit per image -> per-image PSNRs."""
    psnrs = []
    for i, signal in enumerate(signals):
        torch.manual_seed(seed + i)
        model = build_model("siren", 2, signal.channels, **arch).to(device)
        psnrs.append(fit(model, ImageFitTask(signal).to(device), cfg).history[-1]["psnr"])
    return psnrs


def batched(signals, arch, cfg, device, seed):
    """One BatchedSiren over all images, one train.fit -> per-image PSNRs."""
    model = build_model("siren", 2, signals[0].channels, kind="batched", num_signals=len(signals),
                        seeds=[seed + i for i in range(len(signals))], **arch).to(device)
    task = BatchFitTask(signals, [str(i) for i in range(len(signals))]).to(device)
    fit(model, task, cfg)
    return task.psnrs(model)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-images", type=int, default=64)
    p.add_argument("--size", type=int, default=32, help="side of each image in pixels")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--hidden-features", type=int, default=256)
    p.add_argument("--hidden-layers", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    tuned = device.type == "cpu" and tune_allocator()  # large batched activations: keep freed blocks in the heap
    arch = {"hidden_features": args.hidden_features, "hidden_layers": args.hidden_layers}
    signals = [image_signal(img) for img in crops(args.num_images, args.size, args.seed)]
    cfg = TrainConfig(steps=args.steps, lr=args.lr, log_every=args.steps, checkpoint_every=args.steps,
                      progress=False)
    warm = TrainConfig(steps=2, lr=args.lr, log_every=2, progress=False)
    sequential(signals[:2], arch, warm, device, args.seed)  # warm-up: allocator, BLAS handles, kernels
    batched(signals[:2], arch, warm, device, args.seed)

    rows = {}
    for name, fn in (("sequential", sequential), ("batched", batched)):
        _sync(device)
        t0 = time.perf_counter()
        psnrs = fn(signals, arch, cfg, device, args.seed)
        _sync(device)
        rows[name] = (time.perf_counter() - t0, psnrs)

    n = args.num_images
    print(f"{n} images of {args.size}x{args.size}, Siren {args.hidden_layers} hidden layers of "
          f"{args.hidden_features}, {args.steps} steps of Adam (lr {args.lr:g}), device {device}"
          f"{'' if device.type != 'cpu' else f' ({torch.get_num_threads()} threads, allocator tuned: {tuned})'}\n")
    print("| fitting | training runs | seconds total | seconds per image | mean PSNR (dB) |")
    print("|---|---|---|---|---|")
    for name, (sec, psnrs) in rows.items():
        runs = n if name == "sequential" else 1
        print(f"| {name} | {runs} | {sec:.2f} | {sec / n:.3f} | {np.mean(psnrs):.2f} |")
    (t_seq, p_seq), (t_bat, p_bat) = rows["sequential"], rows["batched"]
    print(f"\nspeed-up {t_seq / t_bat:.1f}x; largest per-image PSNR difference "
          f"{np.max(np.abs(np.subtract(p_seq, p_bat))):.2g} dB")


if __name__ == "__main__":
    main()
