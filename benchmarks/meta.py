"""Learned initializations (`siren meta train`) against the standard SIREN init, and inpainting from sparse context.

    python benchmarks/meta.py                       # meta-train (or reuse the run), print tables, write the figure
    python benchmarks/meta.py --steps 300 --out /tmp/quick

Data: the demo set of `siren.data.imagefolder` (32 x 32 crops of scikit-image's photographs; held-out crops come
from 4 photographs that no training crop shares). The init: Reptile with K Adam inner steps (the test-time
optimizer of `siren fit`), a SIREN 2 -> 64 -> 64 -> 64 -> 3. Scores: mean PSNR
(dB on [0, 1]) over --images held-out crops after k steps of Adam from the learned init (at its inner learning rate)
and from the standard init (seeded alike) at the paper's learning rate 1e-4 and at the inner learning rate; steps to
reach 25 / 30 dB mean PSNR. Partial observation: the loss sees a fixed random half of the pixels, the score is over
all of them. Inpainting: the whole crop from 100 fixed context pixels (the prior scores' masks, seed 0), MSE on
[0, 1]: the learned init fitted to the context, scattered-data interpolation (scipy griddata linear, nearest; outside
the hull of the context, linear falls back to nearest), the context's mean colour, and the priors of
benchmarks/inpainting.py when its runs exist; on held-out crops and on matplotlib's grace_hopper (32 px), a
photograph of another kind than the training crops. Timings are not reported (2 shared cores).

    python benchmarks/meta.py --functa --latent 64 128 256     # modulated meta-learning (--method functa)

--functa: for each latent size L, meta-train (or reuse) a functa run (base SIREN 2 -> 64 -> 64 -> 64 -> 3, or
--functa-width x --functa-layers, with FiLM shifts from an L-d latent, K = 3 SGD steps on the latent at learned
per-dimension rates, second order, batch 8, outer Adam --functa-lr on the base and --rates-lr on the rates,
--functa-steps meta steps, 1 thread), then the mean
PSNR over the same held-out crops after 0 / 1 / 3 / 5 / 10 test-time steps (SGD on the latent only, at the learned
rates: what `siren fit image --init RUN` does), against the standard init fitted with Adam (all weights, full
batch) at the paper's settings (256 x 3 SIREN, lr 1e-4) and at our default learning rate (5e-4, constant), and
the standard steps that match each learned result. Meta-training time is reported (shared cores: an upper bound).
Inpainting from 10 and 100 fixed context pixels (the latent fitted to them only, 0 / 3 / 10 steps) against griddata
and scikit-image's biharmonic inpainting. Results are merged into benchmarks/results/meta_functa.json (the standard
init's curves are reused from it when they cover --standard-steps on the same crops).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from siren.data.grid import grid
from siren.data.imagefolder import demo_split, square_image
from siren.data.masks import fixed_masks
from siren.launch import launch
from siren.metrics import mse_to_psnr, to_unit
from siren.models import ModelConfig, build_model, model_from_spec
from siren.run_folder import CHECKPOINT, load_checkpoint
from siren.tasks.meta import MetaConfig, MetaTask, adapt, adapt_latent, latent_predict, predict, unit_psnrs
from siren.train import TrainConfig
from siren.viz import pyplot
from machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
SHOWN = (0, 1, 2, 5, 10, 50, 100)
ARCH = dict(hidden_features=64, hidden_layers=2)


def train(args) -> Path:
    """Meta-train (or reuse / resume) the run under args.out."""
    out = Path(args.out)
    if (out / "metrics.json").is_file() and json.loads((out / "metrics.json").read_text())["steps"] >= args.steps:
        return out
    cfg = MetaConfig(demo=True, size=32, batch_size=args.batch, inner_steps=args.inner_steps, inner_lr=args.inner_lr)
    launch(MetaTask, cfg, ModelConfig(**ARCH), TrainConfig(steps=args.steps, lr=args.lr, log_every=250,
                                                            checkpoint_every=250, device="cpu", progress=False),
           out, resume=(out / CHECKPOINT).is_file(), command={"benchmark": "meta.py"}, report=False)
    return out


def curves(model, theta, coords, values, steps, lr, observed=None) -> list[float]:
    """Mean PSNR over all pixels after 0..steps Adam steps from theta (loss on `observed` pixels)."""
    return [float(np.mean(unit_psnrs(model, phi, coords, values)))
            for phi in adapt(model, theta, coords, values, steps, lr, observed=observed)]


def reach(curve: list[float], db: float) -> str:
    return next((str(k) for k, v in enumerate(curve) if v >= db), f">{len(curve) - 1}")


def griddata_fill(img: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    """(S, S, 3) image from its pixels where mask (S, S) by scipy griddata; linear falls back to nearest outside
    the context's convex hull."""
    from scipy.interpolate import griddata
    s = img.shape[0]
    yy, xx = np.mgrid[0:s, 0:s]
    pts, vals, at = np.stack([yy[mask], xx[mask]], 1), img[mask], (yy, xx)
    out = griddata(pts, vals, at, method=method)
    if method == "linear":
        near = griddata(pts, vals, at, method="nearest")
        out = np.where(np.isnan(out), near, out)
    return out


def biharmonic(images: torch.Tensor, k: int) -> float:
    """MSE on [0, 1] of scikit-image's biharmonic inpainting of the whole images (M, S, S, 3) in [-1, 1] from the k
    fixed context pixels of `interpolation`."""
    from skimage.restoration import inpaint_biharmonic
    m, s = images.shape[:2]
    unit = ((images + 1) / 2).numpy()
    pred = np.stack([inpaint_biharmonic(u, ~mk.numpy(), channel_axis=-1)
                     for u, mk in zip(unit, fixed_masks(m, (s, s), k))])
    return float(((np.clip(pred, 0, 1) - unit) ** 2).mean())


def interpolation(images: torch.Tensor, k: int) -> dict:
    """MSE on [0, 1] of scattered-data interpolation (and the context's mean colour) of the whole images (M, S, S, 3)
    in [-1, 1] from k fixed context pixels: the same masks as the priors' scores (`fixed_masks` over all M)."""
    m, s = images.shape[:2]
    masks = fixed_masks(m, (s, s), k)
    unit = ((images + 1) / 2).numpy()
    out = {}
    for method in ("linear", "nearest"):
        pred = np.stack([griddata_fill(u, mk.numpy(), method) for u, mk in zip(unit, masks)])
        out[f"griddata {method}"] = float(((np.clip(pred, 0, 1) - unit) ** 2).mean())
    mean = np.stack([np.broadcast_to(u[mk.numpy()].mean(0), u.shape) for u, mk in zip(unit, masks)])
    out["context mean colour"] = float(((mean - unit) ** 2).mean())
    return out


def inpainting(model, theta, coords, images: torch.Tensor, lr: float, k: int = 100) -> dict:
    """MSE on [0, 1] of the whole images (M, S, S, 3) in [-1, 1] from k fixed context pixels, per route."""
    m, s = images.shape[:2]
    masks = fixed_masks(m, (s, s), k)
    unit = ((images + 1) / 2).numpy()
    out = {}
    values, observed = images.reshape(m, -1, 3), masks.reshape(m, -1)
    for steps, phi in enumerate(adapt(model, theta, coords, values, 50, lr, observed=observed)):
        if steps in (0, 2, 5, 10, 20, 50):
            pred = ((predict(model, phi, coords).detach().clamp(-1, 1) + 1) / 2).reshape(m, s, s, 3).numpy()
            out[f"learned init + {steps} steps"] = float(((pred - unit) ** 2).mean())
    out.update(interpolation(images, k))
    for enc in ("cnp", "set", "cnn"):
        run = ROOT / "benchmarks" / "runs" / "inpainting" / enc
        if (run / CHECKPOINT).is_file():
            from siren.commands.prior import load_prior
            from siren.tasks.prior import mse_at
            out[f"prior {enc}"] = mse_at(load_prior(run, "cpu")[0], images, k)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="meta steps")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--inner-steps", type=int, default=5)
    p.add_argument("--inner-lr", type=float, default=1e-3)
    p.add_argument("--lr", type=float, default=5e-4, help="outer Adam learning rate")
    p.add_argument("--images", type=int, default=16, help="held-out crops scored")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "runs" / "meta"))
    p.add_argument("--figure", default=str(ROOT / "docs" / "images" / "meta_init.png"))
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "meta.json"))
    p.add_argument("--functa", action="store_true", help="modulated meta-learning (--method functa) against the "
                   "standard init; see the module docstring")
    p.add_argument("--latent", type=int, nargs="+", default=[64], help="--functa: latent sizes")
    p.add_argument("--functa-steps", type=int, default=3000, help="--functa: meta steps")
    p.add_argument("--functa-width", type=int, default=ARCH["hidden_features"], help="--functa: the base's width")
    p.add_argument("--functa-layers", type=int, default=ARCH["hidden_layers"], help="--functa: the base's hidden "
                   "layers after the first")
    p.add_argument("--functa-lr", type=float, default=3e-4, help="--functa: outer Adam learning rate of the base")
    p.add_argument("--rates-lr", type=float, default=1e-2, help="--functa: outer Adam learning rate of the rates")
    p.add_argument("--standard-steps", type=int, default=100, help="--functa: standard-init steps scored")
    p.add_argument("--interpolation-only", action="store_true", help="only the interpolation baselines on every "
                   "held-out crop at 10 / 100 / 1000 context pixels (the protocol of the priors' table)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"CPU: {cpu_name()} (1 thread; 2 cores shared with other work)", flush=True)
    if args.functa:
        return functa(args)
    if args.interpolation_only:
        test = demo_split(32).test
        images = torch.stack([test[i][0] for i in range(len(test))])
        rows = {k: interpolation(images, k) for k in (10, 100, 1000)}
        print(f"| route ({len(test)} held-out crops) | 10 px | 100 px | 1000 px |\n|---|---|---|---|")
        for name in rows[10]:
            print(f"| {name} | " + " | ".join(f"{rows[k][name]:.4f}" for k in rows) + " |")
        return 0
    ckpt = load_checkpoint(train(args))
    learned = model_from_spec(ckpt["spec"])
    learned.load_state_dict(ckpt["model"])
    standard = build_model("siren", 2, 3, kind="batched", hints={"num_signals": 1, "seed": 0}, **ARCH)
    split = demo_split(32)
    idx = np.unique(np.linspace(0, len(split.test) - 1, args.images).round().astype(int))
    images = torch.stack([split.test[int(i)][0] for i in idx])
    values, coords = images.reshape(len(idx), -1, 3), grid((32, 32))
    half = torch.rand(values.shape[:2], generator=torch.Generator().manual_seed(0)) < 0.5
    most, lr = max(SHOWN), args.inner_lr
    rows = {}
    for obs_name, obs in (("all pixels", None), ("half the pixels", half)):
        for name, model, rate in (("learned", learned, lr), ("standard, lr 1e-4 (paper)", standard, 1e-4),
                                  (f"standard, lr {lr:g}", standard, lr)):
            rows[f"{name}; {obs_name}"] = curves(model, dict(model.named_parameters()), coords, values, most, rate,
                                                 obs)
    head = "| init; loss on | " + " | ".join(f"{k} steps" for k in SHOWN) + " | to 25 dB | to 30 dB |"
    lines = [f"Mean PSNR (dB) over {len(idx)} held-out 32 px demo crops, Adam from each init", head,
             "|" + "---|" * (len(SHOWN) + 3)]
    for name, c in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{c[k]:.2f}" for k in SHOWN) + f" | {reach(c, 25)} | "
                     f"{reach(c, 30)} |")
    print("\n".join(lines), flush=True)
    theta = dict(learned.named_parameters())
    hopper = torch.from_numpy(2 * square_image(_grace_hopper(), 32) - 1).float()[None]
    inpaint = {"held-out crops": inpainting(learned, theta, coords, images, lr),
               "grace_hopper": inpainting(learned, theta, coords, hopper, lr)}
    names = list(inpaint["held-out crops"])
    print(f"\nInpainting from 100 context pixels: MSE on [0, 1] of the whole image\n| route | held-out crops "
          f"({len(idx)}) | grace_hopper |\n|---|---|---|")
    for n in names:
        print(f"| {n} | {inpaint['held-out crops'][n]:.4f} | {inpaint['grace_hopper'].get(n, float('nan')):.4f} |")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, obs_name in zip(axes, ("all pixels", "half the pixels")):
        for name, c in rows.items():
            if name.endswith(obs_name):
                ax.plot(range(most + 1), c, label=name.split(";")[0])
        ax.set(xscale="symlog", xlabel="Adam steps", title=f"loss on {obs_name}")
    axes[0].set_ylabel("held-out PSNR (dB)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=100)
    Path(args.json).write_text(json.dumps({"cpu": cpu_name(), "meta": ckpt["task"], "meta_steps": ckpt["step"],
                                           "psnr": {k: dict(zip(map(str, SHOWN), (c[s] for s in SHOWN)))
                                                    for k, c in rows.items()},
                                           "inpainting_mse_100": inpaint}, indent=2))
    print(f"wrote {args.figure}, {args.json}")
    return 0


FUNCTA_SHOWN = (0, 1, 3, 5, 10)


def train_functa(args, latent: int) -> Path:
    """Meta-train (or reuse / resume) the functa run with an L-d latent under args.out + "_functa<L>"."""
    arch = dict(hidden_features=args.functa_width, hidden_layers=args.functa_layers)
    out = Path(f"{args.out}_functa{latent}" + ("" if arch == ARCH else f"_{args.functa_width}x{args.functa_layers}"))
    done = out / "metrics.json"
    if done.is_file() and json.loads(done.read_text())["steps"] >= args.functa_steps:
        return out
    cfg = MetaConfig(demo=True, size=32, batch_size=args.batch, method="functa", latent_features=latent,
                     rates_lr=args.rates_lr)
    launch(MetaTask, cfg, ModelConfig(**arch), TrainConfig(steps=args.functa_steps, lr=args.functa_lr, log_every=250,
                                                            checkpoint_every=250, device="cpu", progress=False),
           out, resume=(out / CHECKPOINT).is_file(), command={"benchmark": "meta.py --functa"}, report=False)
    return out


def functa(args) -> int:
    """The --functa benchmark: see the module docstring."""
    split = demo_split(32)
    idx = np.unique(np.linspace(0, len(split.test) - 1, args.images).round().astype(int))
    images = torch.stack([split.test[int(i)][0] for i in idx])
    values, coords = images.reshape(len(idx), -1, 3), grid((32, 32))
    most = args.standard_steps
    rows, seconds, record = {}, {}, {}
    path = Path(args.json).with_name("meta_functa.json")
    old = json.loads(path.read_text()) if path.is_file() else {}
    if old.get("images") == len(idx) and all(len(c) > most for c in old.get("standard_curves", {}).values()):
        rows = {k: c[:most + 1] for k, c in old["standard_curves"].items()}      # the standard init's curves: reused
    for name, arch, lr in (("standard 256 x 3, Adam lr 1e-4 (paper)", dict(hidden_features=256, hidden_layers=3), 1e-4),
                           ("standard 256 x 3, Adam lr 5e-4", dict(hidden_features=256, hidden_layers=3), 5e-4),
                           ("standard 64 x 2 (the base's size), Adam lr 1e-4", ARCH, 1e-4)):
        if name in rows:
            continue
        model = build_model("siren", 2, 3, kind="batched", hints={"num_signals": 1, "seed": 0}, **arch)
        rows[name] = curves(model, dict(model.named_parameters()), coords, values, most, lr)
        print(f"{name}: " + " ".join(f"{k}:{rows[name][k]:.2f}" for k in (0, 10, 30, 40, 50, 100) if k <= most),
              flush=True)
    standard = rows["standard 256 x 3, Adam lr 1e-4 (paper)"]
    inpaint = {k: {**interpolation(images, k), "biharmonic (scikit-image)": biharmonic(images, k)} for k in (10, 100)}
    for latent in args.latent:
        out = train_functa(args, latent)
        ckpt = load_checkpoint(out)
        base = model_from_spec(ckpt["spec"])
        base.load_state_dict(ckpt["model"])
        rates = torch.tensor(ckpt["task"]["test_time"]["rates"])
        curve = []
        for z in adapt_latent(base, rates, coords, values, max(FUNCTA_SHOWN)):
            with torch.no_grad():
                err = (to_unit(latent_predict(base, z, coords)) - to_unit(values)).pow(2).mean((1, 2))
            curve.append(float(np.mean([mse_to_psnr(float(e)) for e in err])))
        name = f"functa, latent {latent}" + ("" if args.functa_width == ARCH["hidden_features"] and args.functa_layers
                                               == ARCH["hidden_layers"] else
                                               f", base {args.functa_width} x {args.functa_layers}")
        for k in (10, 100):                         # inpainting: the latent fitted to k context pixels
            masks = fixed_masks(len(idx), (32, 32), k).reshape(len(idx), -1)
            zs = adapt_latent(base, rates, coords, values, 10, observed=masks)
            for steps in (0, 3, 10):
                with torch.no_grad():
                    pred = to_unit(latent_predict(base, zs[steps], coords))
                inpaint.setdefault(k, {})[f"{name} + {steps} steps"] = float((pred - to_unit(values)).pow(2).mean())
        rows[name], seconds[name] = curve, ckpt.get("seconds", float("nan"))
        record[name] = {"meta_steps": ckpt["step"], "seconds": seconds[name], "run": str(out),
                        "rates_mean": float(rates.mean()), "rates_min": float(rates.min()),
                        "rates_max": float(rates.max())}
        print(f"{name}: {ckpt['step']} meta steps in {seconds[name]:.0f} s", flush=True)
    head = ("| init | " + " | ".join(f"{k}" for k in FUNCTA_SHOWN) + " steps | standard steps (paper settings) to "
            "match it after 1 / 3 / 5 / 10 steps |")
    lines = [f"Mean PSNR (dB) over {len(idx)} held-out 32 px demo crops", head, "|" + "---|" * (len(FUNCTA_SHOWN) + 2)]
    for name, c in rows.items():
        match = " / ".join(reach(standard, c[k]) for k in FUNCTA_SHOWN[1:]) if name.startswith("functa") else "-"
        lines.append(f"| {name} | " + " | ".join(f"{c[k]:.2f}" for k in FUNCTA_SHOWN) + f" | {match} |")
    lines += ["", "Inpainting: MSE on [0, 1] of the whole image from k fixed context pixels (the latent fitted to "
              "them)",
              "| route | 10 px | 100 px |", "|---|---|---|"]
    lines += [f"| {n} | {inpaint[10][n]:.4f} | {inpaint[100][n]:.4f} |" for n in inpaint[100]]
    print("\n".join(lines), flush=True)
    psnr = {k: dict(zip(map(str, FUNCTA_SHOWN), (c[s] for s in FUNCTA_SHOWN))) for k, c in rows.items()}
    inpaint = {str(k): v for k, v in inpaint.items()}
    merged = {key: {**old.get(key, {}), **new} for key, new in (("runs", record), ("psnr", psnr))}  # other runs kept
    merged["inpainting_mse"] = {k: {**old.get("inpainting_mse", {}).get(k, {}), **v} for k, v in inpaint.items()}
    path.write_text(json.dumps({"cpu": cpu_name(), "images": len(idx),
                                "settings": {"inner_steps": 3, "batch": args.batch, "lr": args.functa_lr,
                                             "rates_lr": args.rates_lr},
                                **merged,
                                "standard_curves": {k: c for k, c in rows.items() if not k.startswith("functa")}},
                               indent=2))
    print(f"wrote {path}")
    return 0


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    from siren.data.image import to_float_image
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        import imageio.v3 as iio
        return to_float_image(iio.imread(f), name="grace_hopper")


if __name__ == "__main__":
    sys.exit(main())
