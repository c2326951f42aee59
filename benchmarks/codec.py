"""Rate-distortion of the SIREN codec (`siren compress`) against JPEG, WebP and AVIF (Pillow), in one run.

    python benchmarks/codec.py [--images astronaut,chelsea,coffee] [--rates 0.1,0.2,0.3,0.5,1.0] [--size 256]
                               [--steps 2000] [--qat-steps 300] [--workers 2]

Photographs: scikit-image's astronaut, chelsea and coffee (the tests use none of them), center-cropped to a square
and resized to --size (anti-aliased), 8-bit RGB. bpp = 8 x whole-file bytes / (H W) on every side: the .sirz file
with its header and checksum, the JPEG/WebP/AVIF file as Pillow writes it (JPEG optimize=True, WebP method 6, AVIF
Pillow's default speed). PSNR on [0, 1] of the 8-bit decoded images; MS-SSIM by pytorch-msssim (the `codec` extra).
Matching rule: against a .sirz file of B bytes, each baseline's point is its highest quality whose file is <= B
bytes ("none" where even its lowest quality is larger). Encode/decode seconds are wall time with one torch thread
per encoding, --workers encodings at a time. Writes benchmarks/results/codec.json and codec.md, and
docs/images/codec_rd.png.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
BASELINES = {"JPEG": ("JPEG", range(1, 101), {"optimize": True}), "WebP": ("WEBP", range(0, 101), {"method": 6}),
             "AVIF": ("AVIF", range(0, 101), {})}


def photo(name: str, size: int) -> np.ndarray:
    """skimage.data.<name>, center-cropped square, resized to size x size -> (size, size, 3) uint8."""
    import skimage.data
    from siren.data.image import resize_image, to_float_image
    img = to_float_image(getattr(skimage.data, name)())
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return np.floor(resize_image(img, size) * 255 + 0.5).astype(np.uint8)


def scores(ref: np.ndarray, out: np.ndarray) -> dict:
    """PSNR (dB) and MS-SSIM (NaN without pytorch-msssim or for sides <= 160 px) of two (H, W, 3) uint8 images."""
    import torch
    from siren.metrics import psnr
    a, b = ref.astype(np.float64) / 255, out.astype(np.float64) / 255
    try:
        from pytorch_msssim import ms_ssim
        if min(ref.shape[:2]) <= 160:                 # 5 scales of an 11-tap window need more
            raise ImportError
        t = [torch.from_numpy(x).permute(2, 0, 1)[None].float() for x in (a, b)]
        msssim = float(ms_ssim(t[0], t[1], data_range=1.0))
    except ImportError:
        msssim = float("nan")
    return {"psnr": psnr(b, a), "msssim": msssim}


def baseline_curve(img: np.ndarray, fmt: str, qualities, extra: dict) -> list[dict]:
    """Every quality of one Pillow format -> [{quality, bytes, bpp, psnr, msssim}]."""
    from PIL import Image
    points = []
    for q in qualities:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt, quality=q, **extra)
        data = buf.getvalue()
        dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        points.append({"quality": q, "bytes": len(data), "bpp": 8 * len(data) / img[..., 0].size, **scores(img, dec)})
    return points


def encode_one(job: tuple) -> dict:
    """One (photo, rate): compress, decode (timed), score."""
    import torch
    torch.set_num_threads(1)
    from siren.codec import EncoderConfig, compress, decompress
    name, rate, size, steps, qat_steps = job
    img = photo(name, size)
    enc = compress(img / 255.0, bpp=rate, config=EncoderConfig(steps=steps, qat_steps=qat_steps))
    start = time.perf_counter()
    dec = decompress(enc.data)
    decode_s = time.perf_counter() - start
    assert np.array_equal(dec, enc.image)
    return {"image": name, "rate": rate, "bytes": len(enc.data), "bpp": enc.bpp, **scores(img, dec),
            "encode_s": enc.seconds, "decode_s": decode_s, "width": enc.header.model["options"]["hidden_features"],
            "params": enc.params, "float_psnr": enc.float_psnr, "coder": enc.header.coder}


def matched(curve: list[dict], nbytes: int) -> dict | None:
    """The highest-quality point whose file is <= nbytes, or None."""
    fit = [p for p in curve if p["bytes"] <= nbytes]
    return max(fit, key=lambda p: p["quality"]) if fit else None


def table(rows: list[dict], curves: dict) -> str:
    head = ("| photo | target bpp | SIREN bytes | bpp | PSNR | MS-SSIM | encode s | decode s | "
            "JPEG PSNR (bpp) | WebP PSNR (bpp) | AVIF PSNR (bpp) | vs JPEG | vs WebP | vs AVIF |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells, deltas = [], []
        for b in BASELINES:
            m = matched(curves[r["image"]][b], r["bytes"])
            cells.append("none" if m is None else f"{m['psnr']:.2f} ({m['bpp']:.3f})")
            deltas.append("-" if m is None else f"{r['psnr'] - m['psnr']:+.2f}")
        lines.append(f"| {r['image']} | {r['rate']:g} | {r['bytes']} | {r['bpp']:.3f} | {r['psnr']:.2f} | "
                     f"{r['msssim']:.4f} | {r['encode_s']:.0f} | {r['decode_s']:.2f} | " + " | ".join(cells + deltas)
                     + " |")
    return "\n".join(lines)


def figure(rows: list[dict], curves: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(curves)
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 7), squeeze=False)
    for j, name in enumerate(names):
        for i, key in enumerate(("psnr", "msssim")):
            ax = axes[i][j]
            for b, style in zip(BASELINES, ("-", "--", ":")):
                pts = sorted((p["bpp"], p[key]) for p in curves[name][b] if p["bpp"] <= 1.2)
                if pts:
                    ax.plot(*zip(*pts), style, label=b, lw=1.2)
            ours = sorted((r["bpp"], r[key]) for r in rows if r["image"] == name)
            ax.plot(*zip(*ours), "o-", color="k", label="SIREN (.sirz)", lw=2)
            ax.set_xlim(0, 1.1)
            ax.set_xlabel("bpp (whole file)")
            ax.set_ylabel("PSNR (dB)" if key == "psnr" else "MS-SSIM")
            ax.set_title(name if i == 0 else "")
            ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", default="astronaut,chelsea,coffee")
    p.add_argument("--rates", default="0.1,0.2,0.3,0.5,1.0")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--qat-steps", type=int, default=300)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "codec"))
    p.add_argument("--figure", default=str(ROOT / "docs" / "images" / "codec_rd.png"))
    a = p.parse_args()
    from PIL import features
    names, rates = a.images.split(","), [float(r) for r in a.rates.split(",")]
    missing = [b for b, f in (("WebP", "webp"), ("AVIF", "avif")) if not features.check(f)]
    for b in missing:
        BASELINES.pop(b)
    jobs = [(n, r, a.size, a.steps, a.qat_steps) for n in names for r in sorted(rates, reverse=True)]
    start = time.perf_counter()
    with ProcessPoolExecutor(a.workers) as pool:
        futures = pool.map(encode_one, jobs)
        curves = {n: {b: baseline_curve(photo(n, a.size), *spec) for b, spec in BASELINES.items()} for n in names}
        rows = sorted(futures, key=lambda r: (names.index(r["image"]), r["rate"]))
    cpu = cpu_name()
    md = (f"SIREN codec vs Pillow {__import__('PIL').__version__} at matched whole-file sizes; {a.size} px center "
          f"crops; siren 3 hidden layers, {a.steps} fit + {a.qat_steps} QAT steps; CPU: {cpu}, one torch thread "
          f"per encoding, {a.workers} at a time; wall {time.perf_counter() - start:.0f} s"
          + (f"; missing in this Pillow: {', '.join(missing)}" if missing else "") + "\n\n" + table(rows, curves))
    print(md)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md + "\n")
    out.with_suffix(".json").write_text(json.dumps({"cpu": cpu, "size": a.size, "steps": a.steps,
                                                    "qat_steps": a.qat_steps, "workers": a.workers, "rows": rows,
                                                    "baselines": curves}, indent=1))
    figure(rows, curves, Path(a.figure))


if __name__ == "__main__":
    main()
