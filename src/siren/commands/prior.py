"""`siren prior inpaint` and `siren prior interpolate`: using a trained prior (checkpoints of `siren prior train`).

Neither trains: `inpaint` reconstructs an image from a few of its pixels and writes a small run folder
(metrics.json, outputs.json, pictures); `interpolate` writes a strip of the functions between two images' codes.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.image import IMAGE_SUFFIXES, load_image, require_size, save_image
from ..data.imagefolder import square_image
from ..data.masks import context_mask, parse_context
from ..data.signal import render_bytes
from ..errors import SirenError
from ..metrics import mse_to_psnr, to_unit
from ..options import option
from ..runtime import require_writable
from ..run_folder import (Output, load_checkpoint, model_from_checkpoint, prepare_out_dir, write_manifest,
                          write_metrics)
from ..tasks.prior import PriorTask
from ..train import resolve_device
from ..viz.priors import inpainting_figure, shown
from . import command

__all__ = ["load_prior", "prior_image", "inpaint", "interpolate", "InpaintConfig", "InterpolateConfig"]


def load_prior(checkpoint: str | Path, device: str = "auto"):
    """A checkpoint of `siren prior train` -> (model in eval mode on `device`, its task meta, the checkpoint dict).
    Another task's checkpoint is a SirenError."""
    ckpt = load_checkpoint(checkpoint)
    meta = ckpt.get("task") or {}
    if meta.get("task") != PriorTask.name:
        raise SirenError(f"{checkpoint} is a checkpoint of {meta.get('task', 'an unknown task')!r}, not of "
                         f"`siren {PriorTask.name}` (pass the run folder of a prior)")
    model = model_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    return model, meta, ckpt


def prior_image(path: str | Path, size: int) -> torch.Tensor:
    """An image file prepared as in training (centre square, resized, RGB) -> (size, size, 3) in [-1, 1]."""
    return torch.from_numpy(2.0 * square_image(load_image(path), size) - 1.0).float()


def _input(spec: str | Path) -> Path:
    path = Path(spec)
    if not path.is_file():
        raise SirenError(f"image not found: {path} (pass an image file)")
    return path


@torch.no_grad()
def inpaint(checkpoint: str | Path, image: str | Path, context: int | str, out_dir: str | Path, seed: int = 0,
            render_size: int | None = None, overwrite: bool = False, device: str = "auto") -> dict:
    """Reconstruct `image` from `context` of its pixels (a count drawn at random with `seed`, or "half": the top
    half) with a trained prior. Writes into out_dir: inpainting.png (context, reconstruction, truth),
    context.png, reconstruction.png (the SIREN / CNP rendered at render_size, default the trained size),
    metrics.json ({"task": "prior inpaint", "model", "steps", "seconds", "interrupted", "metrics": {"context",
    "mse", "psnr"}}; MSE and PSNR of the whole image on [0, 1]) and outputs.json. Returns metrics.json's content."""
    t0 = time.perf_counter()
    model, meta, ckpt = load_prior(checkpoint, device)
    size = int(meta["size"])
    values = prior_image(_input(image), size)
    mask = context_mask(context, size, seed)
    if render_size is not None:
        require_size((render_size, render_size), render_size, 3, field="render_size", bytes_for=render_bytes)
    out = prepare_out_dir(out_dir, overwrite=overwrite)
    dev = next(model.parameters()).device
    res = model(values[None].to(dev), mask[None].to(dev))
    pred = res.pred[0].cpu()
    mse = float((to_unit(pred) - to_unit(values)).pow(2).mean())
    score = {"context": int(mask.sum()), "mse": mse, "psnr": mse_to_psnr(mse)}
    label = "top half" if parse_context(context) == "half" else f"{int(mask.sum())} px"
    inpainting_figure(model, values[None], [parse_context(context)], out / "inpainting.png",
                      title=f"{Path(image).name}: {label} of context, MSE {mse:.4f}", seed=seed)
    save_image(out / "context.png", shown(values, mask))
    big = pred if render_size in (None, size) else model.render(res.z, (render_size, render_size))[0].cpu()
    save_image(out / "reconstruction.png", to_unit(big))
    summary = write_metrics(out, "prior inpaint", ckpt["spec"]["name"], ckpt["step"], time.perf_counter() - t0,
                            False, score, PriorTask.goals)
    write_manifest(out, [Output("inpainting.png", "figure", f"context ({label}), reconstruction, truth"),
                         Output("context.png", "image", "the context pixels (others painted blue-gray)"),
                         Output("reconstruction.png", "image", f"the reconstruction, MSE {mse:.4f} on [0, 1]")])
    return summary


@torch.no_grad()
def interpolate(checkpoint: str | Path, image_a: str | Path, image_b: str | Path, out: str | Path, frames: int = 8,
                render_size: int | None = None, device: str = "auto") -> Path:
    """Latent interpolation strip: encode both images from all their pixels (z_a, z_b), render the functions of
    (1 - t) z_a + t z_b for `frames` values of t in [0, 1] at render_size (default 4x the trained size), and write
    [A | t = 0 ... 1 | B] side by side as one PNG `out`. Returns its path."""
    out = Path(out)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise SirenError(f"the strip is an image file, got {out.name} (pass --out NAME.png)")
    if frames < 2:
        raise SirenError(f"must be at least 2, got {frames}", field="frames")
    require_writable(out, folder=False)
    if render_size is not None:
        require_size((render_size, render_size), render_size, 3, frames, field="render_size", bytes_for=render_bytes)
    model, meta, _ = load_prior(checkpoint, device)
    size = int(meta["size"])
    render_size = 4 * size if render_size is None else render_size
    dev = next(model.parameters()).device
    pair = torch.stack([prior_image(_input(image_a), size), prior_image(_input(image_b), size)]).to(dev)
    z = model.encode(pair, torch.ones(2, size, size, dtype=torch.bool, device=dev))
    t = torch.linspace(0, 1, frames, device=dev)[:, None]
    strip = model.render((1 - t) * z[:1] + t * z[1:], (render_size, render_size)).cpu()
    ends = to_unit(pair.cpu()).numpy()
    ends = [np.kron(e, np.ones((math.ceil(render_size / size),) * 2 + (1,)))[:render_size, :render_size]
            for e in ends]  # nearest-neighbour enlargement of the inputs
    gap = np.ones((render_size, max(2, render_size // 16), 3))
    panels = [ends[0], gap, *[to_unit(f).numpy() for f in strip], gap, ends[1]]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(out, np.concatenate(panels, axis=1))
    return out


@dataclass
class InpaintConfig:
    checkpoint: str = option(None, "run folder (or its checkpoint.pt) of `siren prior train`", positional=True,
                             required=True)
    image: str = option(None, "image file (centre-cropped and resized as in training)", positional=True,
                        required=True)
    context: str = option("100", "context pixels: a number (e.g. 10, 100, 1000) drawn at random, or half (the top "
                          "half of the image)")
    seed: int = option(0, "random seed of the context pixels")
    render_size: int | None = option(None, "side of reconstruction.png in pixels (default as trained)")
    out: str = option(None, "output folder", required=True)
    overwrite: bool = option(False, "replace an existing output folder")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@command("prior inpaint", "reconstruct an image from a few of its pixels with a trained prior (figure: context, "
         "reconstruction, truth)", InpaintConfig)
def _inpaint(c: InpaintConfig) -> str:
    m = inpaint(c.checkpoint, c.image, c.context, c.out, seed=c.seed, render_size=c.render_size,
                overwrite=c.overwrite, device=c.device)["metrics"]
    return f"done: {m['context']} context pixels, MSE {m['mse']:.4f} ({m['psnr']:.2f} dB); outputs in {c.out}"


@dataclass
class InterpolateConfig:
    checkpoint: str = option(None, "run folder (or its checkpoint.pt) of `siren prior train`", positional=True,
                             required=True)
    image_a: str = option(None, "first image file", positional=True, required=True, metavar="IMG_A")
    image_b: str = option(None, "second image file", positional=True, required=True, metavar="IMG_B")
    frames: int = option(8, "interpolation steps from A to B")
    render_size: int | None = option(None, "side of each frame in pixels (default 4x the trained size)")
    out: str = option(None, "the strip: a PNG file", required=True)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@command("prior interpolate", "render the latent interpolation between two images as a strip", InterpolateConfig)
def _interpolate(c: InterpolateConfig) -> str:
    path = interpolate(c.checkpoint, c.image_a, c.image_b, c.out, frames=c.frames, render_size=c.render_size,
                       device=c.device)
    return f"wrote {path}"
