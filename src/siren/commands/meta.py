"""Signals as latents, with a functa init (`siren meta train --method functa`): a dataset of functions.

    siren meta encode FOLDER --init RUN --out latents.npz    every image of FOLDER -> its latent (L,): K SGD steps
                                                             from zero at the learned rates (what `siren fit image
                                                             --init RUN` does), batched; with its file name and PSNR
    siren meta decode latents.npz --init RUN --out FOLDER [--size N]
                                                             every latent -> a PNG of N x N pixels (any N: the base
                                                             is a function of the coordinates)

latents.npz holds "latents" (M, L) float32, "names" (M,) the image files' names, "psnr" (M,) (dB on [0, 1], at the
trained size), "steps", "lr", "size" and "init" (the init's path). Images are centre-cropped and resized to the
init's training size, as in `siren meta train`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.grid import grid
from ..data.image import load_image, require_image_files, save_image
from ..data.imagefolder import square_image
from ..errors import SirenError
from ..metrics import mse_to_psnr, to_unit
from ..options import option
from ..run_folder import load_checkpoint, model_from_checkpoint
from ..runtime import require_writable
from ..tasks.meta import adapt_latent, latent_predict
from ..train import resolve_device
from . import command

__all__ = ["encode", "decode", "load_functa"]


def load_functa(run, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The base network and the test-time record ({"rates", "steps", "latent_features", ...}) of a functa init;
    any other checkpoint is a one-line SirenError."""
    ckpt = load_checkpoint(run)
    test_time = (ckpt.get("task") or {}).get("test_time") or {}
    if "rates" not in test_time:
        task = (ckpt.get("task") or {}).get("task", "an unknown task")
        raise SirenError(f"{run} is not a functa init (a run of {task!r}"
                         f"{'' if not test_time else ' without a latent'}; pass the run folder of `siren meta train "
                         f"--method functa`)")
    model = model_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, {**test_time, "size": int(ckpt["task"]["size"])}


def encode(folder, init, out, steps: int | None = None, lr: float = 1.0, batch: int = 64, overwrite: bool = False,
           device: str = "cpu") -> dict:
    """Every image of `folder` -> its latent by `steps` (default: the init's K) SGD steps at lr x the learned rates;
    writes `out` (.npz, see the module docstring). Returns {"images", "psnr" (mean), "out"}."""
    out = Path(out)
    if out.suffix != ".npz":
        raise SirenError(f"the latents are an .npz file, got {out.name} (pass --out NAME.npz)")
    if out.exists() and not overwrite:
        raise SirenError(f"{out} exists (pass --overwrite to replace it)")
    require_writable(out, folder=False)
    for field, value in (("batch", batch), ("steps", steps)):
        if value is not None and value < (1 if field == "batch" else 0):
            raise SirenError(f"must be at least {1 if field == 'batch' else 0}, got {value}", field=field)
    if not (np.isfinite(lr) and lr > 0):
        raise SirenError(f"must be a positive number, got {lr}", field="lr")
    files = require_image_files(folder)
    model, tt = load_functa(init, device)
    steps = tt["steps"] if steps is None else steps
    dev = next(model.parameters()).device
    rates = lr * torch.tensor(tt["rates"], device=dev)
    size = tt["size"]
    coords = grid((size, size)).to(dev)
    latents, psnrs = [], []
    for start in range(0, len(files), batch):
        images = []
        for f in files[start:start + batch]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                images.append(2.0 * square_image(load_image(f), size) - 1.0)
        values = torch.from_numpy(np.stack(images)).float().reshape(len(images), -1, 3).to(dev)
        z = adapt_latent(model, rates, coords, values, steps)[-1]
        with torch.no_grad():
            err = (to_unit(latent_predict(model, z, coords)) - to_unit(values)).pow(2).mean((1, 2))
        latents.append(z.cpu())
        psnrs += [mse_to_psnr(float(e)) for e in err]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        np.savez(f, latents=torch.cat(latents).numpy().astype(np.float32), names=np.array([p.name for p in files]),
                 psnr=np.array(psnrs), steps=steps, lr=lr, size=size, init=str(Path(init).resolve()))
    return {"images": len(files), "psnr": float(np.mean(psnrs)), "out": str(out)}


def decode(latents, init, out, size: int | None = None, overwrite: bool = False, device: str = "cpu") -> dict:
    """Every latent of `latents` (.npz of `encode`) -> out/<name>.png rendered at size x size (default: the init's
    training size). Returns {"images", "size", "out"}."""
    path = Path(latents)
    if not path.is_file():
        raise SirenError(f"latents not found: {path} (pass the .npz file of `siren meta encode`)")
    try:
        data = np.load(path, allow_pickle=False)
        z, names = np.asarray(data["latents"], dtype=np.float32), [str(n) for n in data["names"]]
    except (OSError, ValueError, KeyError) as e:
        raise SirenError(f"{path} is not a latents file of `siren meta encode` ({e})") from None
    model, tt = load_functa(init, device)
    if z.ndim != 2 or z.shape[1] != tt["latent_features"] or len(names) != z.shape[0]:
        raise SirenError(f"{path} holds latents of shape {z.shape} but {init} takes latents of "
                         f"{tt['latent_features']} numbers (decode with the init that encoded them)")
    size = tt["size"] if size is None else size
    if size < 1:
        raise SirenError(f"must be at least 1, got {size}", field="size")
    out = require_writable(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise SirenError(f"{out} exists and is not empty (pass --overwrite to write into it)")
    out.mkdir(parents=True, exist_ok=True)
    dev = next(model.parameters()).device
    coords = grid((size, size)).to(dev)
    with torch.no_grad():
        for name, latent in zip(names, torch.from_numpy(z).to(dev)):
            img = to_unit(model(coords, latent)).reshape(size, size, 3).cpu().numpy()
            save_image(out / (Path(name).stem + ".png"), img)
    return {"images": len(names), "size": size, "out": str(out)}


@dataclass
class EncodeConfig:
    folder: str = option(None, "folder of images", positional=True, required=True)
    init: str = option(None, "run folder (or checkpoint.pt) of `siren meta train --method functa`", required=True,
                       metavar="RUN")
    out: str = option(None, "the latents: an .npz file", required=True)
    steps: int | None = option(None, "SGD steps on each latent (default: the init's inner steps)")
    lr: float = option(1.0, "factor on the learned per-dimension rates")
    batch: int = option(64, "images encoded at once")
    overwrite: bool = option(False, "replace an existing --out file")
    device: str = option("cpu", "auto, cpu, cuda or cuda:N")


@command("meta encode", "fit the latent of every image of a folder with a functa init -> latents.npz", EncodeConfig)
def _encode(c: EncodeConfig) -> str:
    r = encode(c.folder, c.init, c.out, c.steps, c.lr, c.batch, c.overwrite, c.device)
    return f"done: {r['images']} latents, mean PSNR {r['psnr']:.2f} dB; wrote {r['out']}"


@dataclass
class DecodeConfig:
    latents: str = option(None, "latents.npz of `siren meta encode`", positional=True, required=True)
    init: str = option(None, "the functa init that encoded them", required=True, metavar="RUN")
    out: str = option(None, "output folder of PNG images", required=True)
    size: int | None = option(None, "side of the images in pixels (default: the init's training size)")
    overwrite: bool = option(False, "write into an existing, non-empty folder")
    device: str = option("cpu", "auto, cpu, cuda or cuda:N")


@command("meta decode", "render the images of latents.npz with their functa init, at any size", DecodeConfig)
def _decode(c: DecodeConfig) -> str:
    r = decode(c.latents, c.init, c.out, c.size, c.overwrite, c.device)
    return f"done: {r['images']} images of {r['size']} x {r['size']} pixels in {r['out']}"
