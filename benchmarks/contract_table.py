"""Same seed, same CLI, same numbers: every command's final metrics on small inputs, for before/after checks of a
refactor (the contract issue's table, extended to every task and to models that read task hints).

    python benchmarks/contract_table.py --json after.json [--compare before.json]

Each row runs `siren ...` in this process (1 thread, seed 0) into a temporary folder and keeps the float metrics of
its metrics.json. --compare prints the largest relative difference per row against an earlier --json file (wall
times, keys ending in "seconds", left out).
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from siren.cli import main

SMALL = ["--hidden-features", "32", "--hidden-layers", "2", "--no-progress", "--no-report", "--log-every", "10"]


def _inputs(folder: Path) -> dict:
    """Files the rows read: a two-tone clip, a (T, H, W) clip, a folder of three images, a speed grid."""
    from scipy.io import wavfile
    from skimage import data

    from siren.data.image import save_image
    from siren.data.video import moving_pattern
    t = np.arange(4000) / 8000.0
    tones = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1250 * t)
    wavfile.write(folder / "tones.wav", 8000, (tones * 32767).astype(np.int16))
    np.save(folder / "clip.npy", moving_pattern(frames=8, size=32))
    photos = folder / "photos"
    photos.mkdir()
    for name in ("camera", "coins", "moon"):
        save_image(photos / f"{name}.png", getattr(data, name)()[:128, :128] / 255.0)
    np.save(folder / "speed.npy", np.array([[1.0, 1.0, 1.0], [1.0, 1.5, 1.0], [1.0, 1.0, 1.2]]))
    return {"wav": str(folder / "tones.wav"), "npy": str(folder / "clip.npy"), "photos": str(photos),
            "speed": str(folder / "speed.npy"), "init": str(folder / "meta"), "png": str(photos / "camera.png")}


def rows(f: dict) -> dict:
    """row name -> CLI arguments (before SMALL and --out)."""
    return {
        "image cameraman 64 px, 100 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "100"],
        "image relu_pe 64 px, 60 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "60",
                                          "--model", "relu_pe"],
        "poisson gradient 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--steps", "100"],
        "poisson laplacian 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--supervise", "laplacian",
                                    "--steps", "100"],
        "poisson laplacian relu_pe 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--supervise",
                                            "laplacian", "--steps", "40", "--model", "relu_pe"],
        "edit brick/cameraman 32 px": ["edit", "brick", "cameraman", "--size", "32", "--steps", "60"],
        "audio tones 0.5 s, 100 steps": ["fit", "audio", f["wav"], "--steps", "100"],
        "audio tones rff, 60 steps": ["fit", "audio", f["wav"], "--steps", "60", "--model", "rff"],
        "audio tones relu_pe, 60 steps": ["fit", "audio", f["wav"], "--steps", "60", "--model", "relu_pe"],
        "video 8x32x32 npy, 60 steps": ["fit", "video", f["npy"], "--steps", "60"],
        "folder of 3 images 32 px, 60 steps": ["fit", "image", f["photos"], "--size", "32", "--steps", "60"],
        "sdf sphere, 60 steps": ["sdf", "--demo", "sphere", "--points", "2000", "--batch", "500", "--resolution",
                                 "32", "--steps", "60"],
        "sdf sphere relu, 30 steps": ["sdf", "--demo", "sphere", "--points", "2000", "--batch", "500",
                                      "--resolution", "32", "--steps", "30", "--model", "relu"],
        "helmholtz circle k 6, 60 steps": ["helmholtz", "--k", "6", "--n", "41", "--batch", "256", "--velocity",
                                           "circle", "--steps", "60"],
        "wave speed.npy, 40 steps": ["wave", "--speed", f["speed"], "--n", "12", "--batch", "256", "--ic-points",
                                     "64", "--pretrain", "10", "--duration", "0.3", "--solver-points", "48",
                                     "--steps", "40"],
        "fwi k 6, 40 steps": ["fwi", "--k", "6", "--n", "33", "--batch", "128", "--pool", "256", "--sources", "2",
                              "--receivers", "4", "--baseline-n", "33", "--baseline-iters", "2", "--steps", "40"],
        "image finer 64 px, 60 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "60",
                                        "--model", "finer"],
        "image gauss 64 px, 60 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "60",
                                        "--model", "gauss"],
        "image wire 64 px, 60 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "60",
                                       "--model", "wire"],
        "image hashgrid 64 px, 60 steps": ["fit", "image", "--demo", "cameraman", "--size", "64", "--steps", "60",
                                           "--model", "hashgrid"],
        "poisson laplacian finer 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--supervise",
                                          "laplacian", "--steps", "40", "--model", "finer"],
        "poisson laplacian gauss 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--supervise",
                                          "laplacian", "--steps", "40", "--model", "gauss"],
        "poisson gradient wire 32 px": ["poisson", "--demo", "cameraman", "--size", "32", "--steps", "40",
                                        "--model", "wire"],
        "meta train demo 16 px, 10 steps": ["meta", "train", "--demo", "--size", "16", "--batch-size", "2",
                                            "--inner-steps", "2", "--steps", "10"],
        "image 16 px from the meta init, 20 steps": ["fit", "image", "--demo", "astronaut", "--size", "16",
                                                     "--steps", "20", "--init", f["init"]],
        "compress cameraman 32 px, 0.5 bpp": ["compress", f["png"], "--method", "siren", "--size", "32", "--bpp", "4",
                                              "--steps", "60", "--qat-steps", "10", "--quiet"],
        "prior cnn demo 8 px, 30 steps": ["prior", "train", "--demo", "--encoder", "cnn", "--size", "8",
                                          "--batch-size", "4", "--context-max", "20", "--latent-dim", "8",
                                          "--hyper-hidden", "8", "--encoder-hidden", "8", "--encoder-layers", "1",
                                          "--steps", "30"],
    }


def _codec_row(cli: list, path: Path) -> dict:
    """`siren compress` into `path`: the file's size, its decoded PSNR against the resized input, and the first 8
    bytes of its SHA-256 (as an integer: the same file bit for bit)."""
    import hashlib

    from siren.codec import decompress
    from siren.data.image import image_or_demo, resize_image
    from siren.metrics import psnr
    if main([*cli, "--out", str(path)]) != 0:
        return {}
    data = path.read_bytes()
    ref = resize_image(image_or_demo(cli[1]), int(cli[cli.index("--size") + 1]))
    decoded = decompress(data) / 255.0
    return {"bytes": float(len(data)), "psnr": float(psnr(torch.as_tensor(decoded), torch.as_tensor(ref))),
            "sha256_head": float(int.from_bytes(hashlib.sha256(data).digest()[:6], "big"))}


def floats(metrics: dict, prefix: str = "") -> dict:
    """The float leaves of a metrics dict, flattened to "a.b" keys."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(floats(v, f"{prefix}{k}."))
        elif isinstance(v, float):
            out[prefix + k] = v
    return out


def main_(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the table here")
    ap.add_argument("--compare", help="an earlier --json file to compare with")
    ap.add_argument("--only", help="comma-separated substrings: run the rows whose name contains one")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = _inputs(tmp)
        for i, (name, cli) in enumerate(rows(files).items()):
            if args.only and not any(s in name for s in args.only.split(",")):
                continue
            out = Path(files["init"]) if cli[:2] == ["meta", "train"] else tmp / f"run{i}"
            if cli[0] == "compress":
                table[name] = _codec_row(cli, tmp / f"run{i}.sirz")
            else:
                code = main([*cli, *SMALL, "--out", str(out)])
                table[name] = floats(json.loads((out / "metrics.json").read_text())["metrics"]) if code == 0 else {}
            print(f"{name}: " + ", ".join(f"{k} {v:.6g}" for k, v in list(table[name].items())[:6]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        print("\n| row | metrics compared | largest relative difference |\n|---|---|---|")
        for name, after in table.items():
            old = before.get(name, {})
            keys = [k for k in after if k in old and math.isfinite(old[k]) and math.isfinite(after[k])
                    and not k.endswith("seconds")]                  # wall times are not the function's
            worst = max((abs(after[k] - old[k]) / max(abs(old[k]), 1e-12) for k in keys), default=float("nan"))
            print(f"| {name} | {len(keys)} of {len(old)} | {worst:.2e} |")


if __name__ == "__main__":
    main_()
