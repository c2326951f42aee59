"""Rate-distortion of `siren compress` (latent grids; the SIREN codec with --siren) against JPEG, WebP, AVIF
(Pillow) and JPEG XL (imagecodecs, when installed), with BD-rates, timings and published Kodak curves.

    python benchmarks/codec.py [--images kodim01,kodim03,...] [--photos] [--crop 256] [--rates 0.1,0.25,0.5,1.0]
                               [--preset fast] [--siren] [--workers 2] [--out benchmarks/results/codec_rd]

Images: the Kodak photographs of ../shared/external/kodak (768 x 512), by default all 24 as 256 px centre crops
(--crop 0: full size; --images kodim01,kodim05: some), and with --photos scikit-image's astronaut, chelsea and
coffee (centre square resized to --crop px). The default run (24 crops x 4 rates, the fast preset, 2 workers) takes
about half an hour on 2 cores; `--preset medium` (the codec's default) about 4 times that; the full-size, all-rates run
is `--crop 0 --preset medium` (about 7 minutes per encoding on 2 cores: some 11 hours for the 96).
bpp = 8 x whole-file bytes / (H W) on every side: the .sirz file with its header and checksum; the file Pillow or
imagecodecs writes (JPEG optimize=True, WebP method 6, AVIF Pillow's default speed, JPEG XL effort 7), each swept
over its whole quality range. PSNR on [0, 1] of the 8-bit images, all channels; MS-SSIM by pytorch-msssim (NaN
for sides <= 160 px). BD-rate (Bjontegaard, PCHIP interpolation of log bpp against PSNR over the overlapping PSNR
range, per image, then averaged): negative = fewer bits than the anchor at the same PSNR. Encode / decode seconds
are wall time with one torch thread per job, --workers jobs at a time; decode multiply-adds per pixel are counted
from the architecture (`LatentImage.macs`). Published Kodak curves (full-size images; CompressAI's files in
../shared/external/kodak/anchors, and the overfitted codecs' papers at 0.25 / 0.5 / 1 bpp) are drawn beside,
marked "published". Writes OUT.json, OUT.md, docs/images/codec_rd.png, and OUT.rows.jsonl as encodings finish.
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
KODAK = ROOT.parent / "shared" / "external" / "kodak"
PHOTOS = ("astronaut", "chelsea", "coffee")
BASELINES = {"JPEG": ("JPEG", range(1, 101), {"optimize": True}), "WebP": ("WEBP", range(0, 101), {"method": 6}),
             "AVIF": ("AVIF", range(0, 101), {})}
JXL_DISTANCES = (0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0)
PUBLISHED_POINTS = {"C3": (30.9, 34.2, 38.5), "Cool-chic 4": (31.1, 34.4, 38.7), "AV1 intra": (30.5, 33.7, 37.6),
                    "WebP": (28.6, 31.3, 35.1)}              # PSNR at 0.25 / 0.5 / 1 bpp, from the papers


def load(name: str, crop: int) -> np.ndarray:
    """A Kodak image (centre crop of crop x crop, or whole for crop 0) or a scikit-image photo (centre square
    resized to crop px) -> (H, W, 3) uint8."""
    from siren.data.image import load_image, resize_image, to_float_image
    if name.startswith("kodim"):
        img = np.floor(load_image(KODAK / f"{name}.png") * 255 + 0.5).astype(np.uint8)
        if crop:
            h, w = img.shape[:2]
            img = img[(h - crop) // 2:(h - crop) // 2 + crop, (w - crop) // 2:(w - crop) // 2 + crop]
        return np.ascontiguousarray(img)
    import skimage.data
    img = to_float_image(getattr(skimage.data, name)())
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return np.floor(resize_image(img, crop or 256) * 255 + 0.5).astype(np.uint8)


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


def baseline_curve(img: np.ndarray, name: str) -> list[dict]:
    """Every quality of one baseline -> [{quality, bytes, bpp, psnr, msssim}]."""
    points = []
    if name == "JPEG XL":
        import imagecodecs
        for d in JXL_DISTANCES:
            data = imagecodecs.jpegxl_encode(img, distance=d, effort=7)
            points.append({"quality": d, "bytes": len(data), "bpp": 8 * len(data) / img[..., 0].size,
                           **scores(img, imagecodecs.jpegxl_decode(data)[..., :3])})
        return points
    from PIL import Image
    fmt, qualities, extra = BASELINES[name]
    for q in qualities:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt, quality=q, **extra)
        data = buf.getvalue()
        dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        points.append({"quality": q, "bytes": len(data), "bpp": 8 * len(data) / img[..., 0].size, **scores(img, dec)})
    return points


def encode_one(job: tuple) -> dict:
    """One (image, rate, method): compress, decode (timed, checked bit for bit), score."""
    import torch
    torch.set_num_threads(1)
    from siren.codec import EncoderConfig, LatentConfig, compress, decompress
    name, rate, crop, method, preset = job
    img = load(name, crop)
    config = EncoderConfig() if method == "SIREN" else LatentConfig(preset=preset)
    enc = compress(img / 255.0, bpp=rate, config=config)
    start = time.perf_counter()
    dec = decompress(enc.data)
    decode_s = time.perf_counter() - start
    assert np.array_equal(dec, enc.image)
    row = {"image": name, "method": method, "rate": rate, "bytes": len(enc.data), "bpp": enc.bpp,
           **scores(img, dec), "encode_s": enc.seconds, "decode_s": decode_s, "params": enc.params}
    if method == "latent":
        from siren.codec.latent import LatentImage
        row.update(lmbda=enc.lmbda, network_bytes=enc.network_bytes, arch=enc.arch.__dict__,
                   macs_per_pixel=LatentImage(enc.arch, img.shape[:2]).macs() / (img.shape[0] * img.shape[1]))
    return row


def monotone(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(bpp, psnr) points sorted by bpp, keeping only those whose PSNR beats every cheaper one."""
    out = []
    for r, p in sorted(points):
        if not out or p > out[-1][1]:
            out.append((r, p))
    return out


def bd_rate(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> float:
    """Bjontegaard delta rate (%) of `test` against `anchor`, (bpp, psnr) points each (>= 2 after `monotone`):
    100 (exp(mean over the common PSNR range of log r_test(P) - log r_anchor(P)) - 1), log r(P) by PCHIP; NaN
    without overlap."""
    from scipy.interpolate import PchipInterpolator
    a, t = monotone(anchor), monotone(test)
    if len(a) < 2 or len(t) < 2:
        return float("nan")
    lo, hi = max(a[0][1], t[0][1]), min(a[-1][1], t[-1][1])
    if hi <= lo:
        return float("nan")
    grid = np.linspace(lo, hi, 200)
    fa = PchipInterpolator([p for _, p in a], np.log([r for r, _ in a]))(grid)
    ft = PchipInterpolator([p for _, p in t], np.log([r for r, _ in t]))(grid)
    return float(100 * (np.exp(np.mean(ft - fa)) - 1))


def table(rows: list[dict]) -> str:
    """Per image and method: the measured points."""
    head = "| image | method | target bpp | bytes | bpp | PSNR | MS-SSIM | encode s | decode s | MACs / px |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['image']} | {r['method']} | {r['rate']:g} | {r['bytes']} | {r['bpp']:.3f} | "
                     f"{r['psnr']:.2f} | {r['msssim']:.4f} | {r['encode_s']:.0f} | {r['decode_s']:.2f} | "
                     f"{r.get('macs_per_pixel', float('nan')):.0f} |")
    return "\n".join(lines)


def bd_table(rows: list[dict], curves: dict) -> tuple[str, dict]:
    """BD-rate (%) of every method (ours and the baselines) against AVIF and WebP, per image and averaged."""
    methods = sorted({r["method"] for r in rows}) + [b for b in next(iter(curves.values())) if b not in ("AVIF",)]
    out = {}
    for anchor in ("AVIF", "WebP"):
        for m in methods:
            if m == anchor:
                continue
            per = {}
            for name, base in curves.items():
                if anchor not in base:
                    continue
                test = ([(r["bpp"], r["psnr"]) for r in rows if r["image"] == name and r["method"] == m]
                        if m not in base else [(p["bpp"], p["psnr"]) for p in base[m]])
                per[name] = bd_rate([(p["bpp"], p["psnr"]) for p in base[anchor]], test)
            out[f"{m} vs {anchor}"] = per
    names = list(curves)
    head = "| BD-rate (%) | " + " | ".join(names) + " | mean |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for k, per in out.items():
        vals = [per.get(n, float("nan")) for n in names]
        lines.append(f"| {k} | " + " | ".join(f"{v:+.1f}" for v in vals) + f" | {np.nanmean(vals):+.1f} |")
    return "\n".join(lines), out


def figure(rows: list[dict], curves: dict, crop: int, path: Path) -> None:
    """PSNR and MS-SSIM against bpp: the mean over the images of each method at its target rates (ours) or of
    each baseline interpolated at common rates; published full-size Kodak curves dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    grid = np.linspace(0.05, 2.0, 60)
    for i, key in enumerate(("psnr", "msssim")):
        ax = axes[i]
        for b in next(iter(curves.values())):
            ys = [np.interp(grid, *zip(*sorted((p["bpp"], p[key]) for p in c[b])), left=np.nan, right=np.nan)
                  for c in curves.values()]
            ax.plot(grid, np.mean(ys, 0), lw=1.2, label=f"{b} (measured)")
        for m in sorted({r["method"] for r in rows}):
            pts = sorted({r["rate"] for r in rows if r["method"] == m})
            mean = [(np.mean([r["bpp"] for r in rows if r["method"] == m and r["rate"] == t]),
                     np.mean([r[key] for r in rows if r["method"] == m and r["rate"] == t])) for t in pts]
            ax.plot(*zip(*mean), "o-", lw=2, label=f"{m} .sirz (measured)")
        if key == "psnr":
            for f in sorted((KODAK / "anchors").glob("*.json")):
                d = json.loads(f.read_text())
                ax.plot(d["results"]["bpp"], d["results"]["psnr"], "--", lw=0.8, alpha=0.6,
                        label=f"{d['name']} (published, full Kodak)")
            for name, ps in PUBLISHED_POINTS.items():
                ax.plot((0.25, 0.5, 1.0), ps, "x:", lw=0.8, label=f"{name} (published, full Kodak)")
        ax.set_xlim(0, 2.05)
        ax.set_xlabel("bpp (whole file)")
        ax.set_ylabel("PSNR (dB)" if key == "psnr" else "MS-SSIM")
        ax.set_title(f"mean over {len(curves)} images ({f'{crop} px crops' if crop else 'full size'})")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", default="all", help="Kodak names, or 'all'")
    p.add_argument("--photos", action="store_true", help="also scikit-image's astronaut, chelsea, coffee")
    p.add_argument("--crop", type=int, default=256, help="centre crop side (0: full size)")
    p.add_argument("--rates", default="0.1,0.25,0.5,1.0")
    p.add_argument("--preset", default="fast")
    p.add_argument("--siren", action="store_true", help="also the SIREN-weights codec (minutes per point)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "codec_rd"))
    p.add_argument("--figure", default=str(ROOT / "docs" / "images" / "codec_rd.png"))
    a = p.parse_args()
    import importlib.util

    from PIL import features
    names = [f"kodim{i:02d}" for i in range(1, 25)] if a.images == "all" else a.images.split(",")
    names += list(PHOTOS) if a.photos else []
    rates = [float(r) for r in a.rates.split(",")]
    missing = [b for b, f in (("WebP", "webp"), ("AVIF", "avif")) if not features.check(f)]
    for b in missing:
        BASELINES.pop(b)
    baselines = list(BASELINES) + (["JPEG XL"] if importlib.util.find_spec("imagecodecs") else [])
    methods = ["latent"] + (["SIREN"] if a.siren else [])
    jobs = [(n, r, a.crop, m, a.preset) for m in methods for n in names for r in sorted(rates, reverse=True)]
    start = time.perf_counter()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".rows.jsonl")          # each encoding as it finishes (kept if the run is cut short)
    partial.write_text("")
    def keep(future) -> None:          # runs as each encoding finishes, while the baselines are being swept
        if future.exception() is None:
            with partial.open("a") as fh:
                fh.write(json.dumps(future.result()) + "\n")

    with ProcessPoolExecutor(a.workers) as pool:
        futures = [pool.submit(encode_one, job) for job in jobs]
        for f in futures:
            f.add_done_callback(keep)
        curves = {n: {b: baseline_curve(load(n, a.crop), b) for b in baselines} for n in names}
        rows = sorted((f.result() for f in futures),
                      key=lambda r: (methods.index(r["method"]), names.index(r["image"]), r["rate"]))
    wall = time.perf_counter() - start
    bd_md, bd = bd_table(rows, curves)
    cpu = cpu_name()
    md = (f"siren compress (latent grids, preset {a.preset}{'; and SIREN' if a.siren else ''}) against "
          f"{', '.join(baselines)} on {len(names)} images ({', '.join(names)}; "
          f"{f'{a.crop} px centre crops' if a.crop else 'full size'}) at target bpp {a.rates}; CPU: {cpu}, one torch "
          f"thread per job, {a.workers} at a time; wall {wall:.0f} s"
          + (f"; missing in this Pillow: {', '.join(missing)}" if missing else "")
          + "\n\n" + bd_md + "\n\n" + table(rows))
    print(md)
    out.with_suffix(".md").write_text(md + "\n")
    out.with_suffix(".json").write_text(json.dumps({"cpu": cpu, "crop": a.crop, "preset": a.preset, "rates": rates,
                                                    "workers": a.workers, "wall_s": wall, "rows": rows, "bd_rate": bd,
                                                    "baselines": curves}, indent=1))
    figure(rows, curves, a.crop, Path(a.figure))


if __name__ == "__main__":
    main()
