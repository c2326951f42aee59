"""Priors over SIRENs: `siren prior train`, and inpainting / latent interpolation from a trained prior.

    siren prior train DATA --encoder set|cnn|cnp --out DIR      (DATA: a folder of images; or --demo)
    siren prior inpaint CHECKPOINT IMAGE --context 10|100|1000|half --out DIR
    siren prior interpolate CHECKPOINT IMG_A IMG_B --out strip.png

Training (`PriorTask`, one `siren.train.run` like every task: progress, checkpoints, --resume, Ctrl-C). Each step
takes a batch of (S, S, 3) images in [-1, 1] (`siren.data.imagefolder`: the batch of step k depends only on the
seed and k, so a resumed run sees the same images), draws for each image a context size k uniformly in
[context_min, context_max] (default [10, 200], the paper's) and k distinct context pixels uniformly, encodes the
context to z and reconstructs the whole image. Loss terms (raw, weight), logged separately:
    hypernetwork models ("set", "cnn"; `siren.models.hyper.HyperSiren`), the paper's weights:
        mse       mean over all pixels and channels of (Phi_theta(z)(x) - y)^2        weight 1
                  (y in [-1, 1]: 4x the MSE on [0, 1] pixel values that the scores use)
        latent    mean(z^2) over the batch's codes                                   weight 0.1
        params    mean(theta^2) over every generated SIREN parameter of the batch     weight 100
    the CNP baseline ("cnp"; `siren.models.hyper.CNP`) trains on its own objective, the Gaussian likelihood:
        nll       mean over all pixels and channels of -log N(y; mu, sigma^2)         weight 1
        mse       mean of (mu - y)^2, logged for comparison                           weight 0
Scores (held-out split, fixed context pixels drawn with seed 0 so every model sees the same): "mse_K" = MSE of the
whole reconstructed image on [0, 1] pixel values (clipped) from K context pixels, K in 10, 100, 1000 (those that fit
in the image); "psnr" = PSNR (dB) on [0, 1] from 100 context pixels (half of the pixels for images under 200
pixels). At each log step on 32 held-out images; at the end on up to 1,000 (`write_outputs`).

Inpainting and interpolation are not training runs: `inpaint` and `interpolate` (and their command-line forms in
`COMMANDS`, subcommands of `siren prior` in `siren.cli`) read a checkpoint of `siren prior train` and write pictures.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..data.image import IMAGE_SUFFIXES, load_image, save_image
from ..data.imagefolder import ImageFiles, Split, demo_split, folder_split, square_image, step_loader
from ..errors import SirenError
from ..metrics import to_unit
from ..options import option
from .base import Output, Task, register

__all__ = ["PriorConfig", "PriorTask", "ENCODERS", "LATENT_WEIGHT", "PARAM_WEIGHT", "context_masks", "fixed_masks",
           "half_mask", "mse_at", "load_prior", "prior_image", "inpaint", "interpolate", "COMMANDS"]

ENCODERS = {"set": "hyper_set", "cnn": "hyper_cnn", "cnp": "cnp"}       # --encoder -> registry model name
LATENT_WEIGHT = 0.1                 # the paper's weight of mean(z^2)
PARAM_WEIGHT = 100.0                # the paper's weight of mean(theta^2)
EVAL_CONTEXTS = (10, 100, 1000)
LOG_EVAL_IMAGES = 32                # held-out images scored at each log step
FINAL_EVAL_IMAGES = 1000            # held-out images scored at the end
EVAL_SEED = 0


def context_masks(batch: int, shape: tuple[int, int], low: int, high: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random context: for each image, k ~ U{low, ..., high} distinct pixels -> mask (batch, H, W) bool (CPU)."""
    n = shape[0] * shape[1]
    k = torch.randint(low, high + 1, (batch, 1), generator=generator)
    ranks = torch.rand(batch, n, generator=generator).argsort(1).argsort(1)        # a random permutation each
    return (ranks < k).reshape(batch, *shape)


def fixed_masks(count: int, shape: tuple[int, int], k: int, seed: int = EVAL_SEED) -> torch.Tensor:
    """`count` masks of exactly k random pixels each, the same for every call with this seed and k (CPU)."""
    gen = torch.Generator().manual_seed(seed * 100_003 + k)
    return context_masks(count, shape, k, k, gen)


def half_mask(shape: tuple[int, int]) -> torch.Tensor:
    """The top half of the image (rows < H / 2) as context -> (H, W) bool."""
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[: shape[0] // 2] = True
    return mask


def eval_context(n: int) -> int:
    """Context size of the "psnr" metric: 100 pixels, or half of the pixels of images under 200 pixels."""
    return 100 if n >= 200 else max(1, n // 2)


@torch.no_grad()
def mse_at(model, images: torch.Tensor, k: int, batch: int = 64, seed: int = EVAL_SEED) -> float:
    """MSE on [0, 1] (clipped predictions) of the whole images (M, S, S, 3) in [-1, 1] reconstructed from k
    fixed random context pixels each (`fixed_masks`), on the model's device."""
    device = next(model.parameters()).device
    masks = fixed_masks(images.shape[0], tuple(images.shape[1:3]), k, seed)
    total = 0.0
    for imgs, mask in zip(images.split(batch), masks.split(batch)):
        imgs = imgs.to(device)
        pred = model(imgs, mask.to(device)).pred
        total += float((to_unit(pred) - to_unit(imgs)).pow(2).mean()) * imgs.shape[0]
    return total / images.shape[0]


def _scores(model, images: torch.Tensor) -> dict:
    n = images.shape[1] * images.shape[2]
    out = {f"mse_{k}": mse_at(model, images, k) for k in EVAL_CONTEXTS if k <= n}
    mse = out.get(f"mse_{eval_context(n)}", None)
    if mse is None:
        mse = mse_at(model, images, eval_context(n))
    out["psnr"] = 10.0 * math.log10(1.0 / max(mse, 1e-12))
    return out


@dataclass
class PriorConfig:
    data: str | None = option(None, "folder of images (e.g. CelebA's img_align_celeba: its list_eval_partition.txt "
                              "is used when present; otherwise every 10th file is held out)", positional=True)
    demo: bool = option(False, "train on the bundled demo set instead: square crops of scikit-image's photographs, "
                        "split by photograph (no download)")
    encoder: str = option("cnn", "set (set encoder + hypernetwork), cnn (CNN encoder + hypernetwork) or cnp "
                          "(conditional neural process baseline)", choices=list(ENCODERS))
    size: int = option(32, "images are centre-cropped and resized to size x size pixels")
    batch_size: int = option(32, "images per step")
    context_min: int = option(10, "fewest context pixels per training image")
    context_max: int = option(200, "most context pixels per training image")
    latent_dim: int | None = option(None, "size of the latent code z (default 256; cnp 128)")
    hyper_hidden: int | None = option(None, "hypernetwork: units of the 2 hidden ReLU layers of each per-tensor MLP "
                                      "(default 256)")
    encoder_hidden: int | None = option(None, "encoder width: set/cnp MLP units or CNN channels (default 256; cnp "
                                        "128)")
    encoder_layers: int | None = option(None, "set/cnp: hidden layers of the point MLP; cnn: residual convs "
                                        "per downsampling stage (default 2)")
    workers: int = option(2, "processes reading a folder's images (0: read them in the training process)")


@register
class PriorTask(Task):
    """Learn a prior over SIRENs (or the CNP baseline) on a Split of images; see the module docstring."""

    name = "prior train"
    help = "learn a prior over SIRENs (hypernetwork + set/CNN encoder, or the CNP baseline) on a folder of images"
    Config = PriorConfig
    train_defaults = {"steps": 20_000, "log_every": 250, "checkpoint_every": 1000}
    metric_name = "psnr"
    in_features, out_features = 2, 3

    def __init__(self, split: Split, encoder: str = "cnn", batch_size: int = 32, context: tuple[int, int] = (10, 200),
                 workers: int = 0, model_options: dict | None = None):
        if encoder not in ENCODERS:
            raise SirenError(f"unknown encoder {encoder!r} (choose {', '.join(ENCODERS)})")
        self.split, self.encoder, self.batch_size = split, encoder, batch_size
        self.size = split.train.size
        self.pixels = self.size * self.size
        low, high = context
        if batch_size < 1:
            raise SirenError(f"--batch-size must be at least 1, got {batch_size}")
        if not 0 <= low <= high:
            raise SirenError(f"context range [{low}, {high}] is empty or negative (pass 0 <= --context-min <= "
                             f"--context-max)")
        if high > self.pixels:
            raise SirenError(f"--context-max {high} is larger than the {self.pixels} pixels of a {self.size}x"
                             f"{self.size} image (lower it, or raise --size)")
        if workers < 0:
            raise SirenError(f"--workers must be 0 or more, got {workers}")
        self.context, self.workers = (low, high), workers
        self.options = {k: v for k, v in (model_options or {}).items() if v is not None}
        self.device = torch.device("cpu")
        self.data_seed: int | None = None
        self._batches, self._next = None, None
        self._eval = None

    @classmethod
    def from_config(cls, config: PriorConfig) -> PriorTask:
        if (config.data is None) == (not config.demo):
            raise SirenError("give a DATA folder of images or --demo (not both, not neither)")
        split = demo_split(config.size) if config.demo else folder_split(config.data, config.size)
        opts = {"latent_dim": config.latent_dim, "encoder_hidden": config.encoder_hidden,
                "encoder_layers": config.encoder_layers}
        if config.encoder != "cnp":
            opts["hyper_hidden"] = config.hyper_hidden
        elif config.hyper_hidden is not None:
            raise SirenError("--hyper-hidden applies to the hypernetwork encoders (set, cnn), not cnp")
        return cls(split, config.encoder, config.batch_size, (config.context_min, config.context_max),
                   config.workers, opts)

    @classmethod
    def launch(cls, config, model, train, out, overwrite=False, resume=False, command=None, report=True) -> dict:
        """As every task, but the network is the encoder's prior model (`ENCODERS`); --model must stay siren
        (the hypernetwork generates SIRENs; --hidden-features/--hidden-layers/--first-omega/--hidden-omega shape
        them, and the CNP's decoder takes --hidden-features/--hidden-layers)."""
        from ..train import run
        if model.model != "siren":
            raise SirenError(f"a prior generates SIRENs; --model {model.model} does not apply (drop --model; pick "
                             f"the encoder with --encoder {'|'.join(ENCODERS)})")
        task = cls.from_config(config)
        return run(task, ENCODERS[task.encoder], train, out, model.options(), overwrite=overwrite, resume=resume,
                   command=command, report=report)[2]

    def model_options(self, model_name: str) -> dict:
        return {"resolution": self.size, **self.options}

    def to(self, device) -> PriorTask:
        self.device = torch.device(device)
        self._batches, self._eval = None, None
        return self

    def _batch(self, step: int, generator: torch.Generator) -> torch.Tensor:
        """Training images of step `step` -> (B, S, S, 3) on the device."""
        if self.data_seed is None:
            self.data_seed = int(torch.randint(2 ** 31 - 1, (1,), generator=generator))
        if self._batches is None or self._next != step:
            workers = self.workers if isinstance(self.split.train, ImageFiles) else 0
            self._batches = step_loader(self.split.train, self.batch_size, self.data_seed, step, workers)
        images, errors = next(self._batches)
        self._next = step + 1
        bad = [e for e in errors if e]
        if bad:
            raise SirenError(bad[0])
        return images.to(self.device)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        images = self._batch(step, generator)
        mask = context_masks(images.shape[0], (self.size, self.size), *self.context, generator).to(self.device)
        out = model(images, mask)
        mse = (out.pred - images).pow(2).mean()
        if out.std is not None:     # a CNP predicts a Gaussian per pixel: its own objective is the likelihood
            nll = (0.5 * math.log(2 * math.pi) + out.std.log() + 0.5 * ((images - out.pred) / out.std) ** 2).mean()
            return {"nll": (nll, 1.0), "mse": (mse, 0.0)}
        params = sum(p.pow(2).sum() for p in out.params) / sum(p.numel() for p in out.params)
        return {"mse": (mse, 1.0), "latent": (out.z.pow(2).mean(), LATENT_WEIGHT), "params": (params, PARAM_WEIGHT)}

    def _test_images(self, count: int) -> torch.Tensor:
        """`count` held-out images spread evenly over the split (all when it has fewer) -> (M, S, S, 3) on CPU."""
        n = len(self.split.test)
        idx = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
        items = [self.split.test[int(i)] for i in idx]
        bad = [e for _, e in items if e]
        if bad:
            raise SirenError(bad[0])
        return torch.stack([img for img, _ in items])

    def evaluate(self, model) -> dict:
        if self._eval is None:
            self._eval = self._test_images(LOG_EVAL_IMAGES)
        return _scores(model, self._eval)

    def meta(self) -> dict:
        return {"task": self.name, "encoder": self.encoder, "size": self.size, "channels": 3,
                "context": list(self.context), "data": self.split.describe()}

    def state_dict(self) -> dict:
        return {"data_seed": self.data_seed}

    def load_state_dict(self, state: dict) -> None:
        self.data_seed = state.get("data_seed")
        self._batches = None

    def write_outputs(self, model, out_dir: Path, history: list):
        """inpainting.png (held-out images from 10 / 100 / 1000 / top-half context), psnr.png; metrics: the
        scores on up to 1,000 held-out images."""
        out_dir = Path(out_dir)
        self._batches = None                               # stop the loader's workers
        images = self._test_images(FINAL_EVAL_IMAGES)
        result = {**_scores(model, images), "test_images": int(images.shape[0])}
        show = images[torch.linspace(0, images.shape[0] - 1, min(6, images.shape[0])).round().long().unique()]
        contexts = [k for k in EVAL_CONTEXTS if k <= self.pixels] + ["half"]
        inpainting_figure(model, show, contexts, out_dir / "inpainting.png",
                          title=f"{self.encoder}: held-out images ({self.split.rule})")
        viz.curve(history, "psnr", out_dir / "psnr.png",
                  ylabel=f"held-out PSNR (dB), {eval_context(self.pixels)} context pixels")
        scores = ", ".join(f"{k} {v:.4f}" for k, v in result.items() if k.startswith("mse_"))
        return result, [Output("inpainting.png", "figure", f"held-out images: context pixels, the reconstruction "
                               f"from them, and the truth ({scores})"),
                        Output("psnr.png", "figure", "held-out PSNR (dB) against training step")]

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "--size", "8", "--batch-size", "4", "--context-max", "20", "--latent-dim", "8",
                "--hyper-hidden", "8", "--encoder-hidden", "8", "--encoder-layers", "1"]


# ---------------------------------------------------------------------------------------------------------------
# using a trained prior

UNKNOWN = np.array([0.15, 0.2, 0.45])                 # colour of pixels outside the context in figures


def load_prior(checkpoint: str | Path, device: str = "cpu"):
    """A checkpoint of `siren prior train` -> (model in eval mode on `device`, its task meta, the checkpoint dict).
    Another task's checkpoint is a SirenError."""
    from ..train import load_checkpoint, model_from_checkpoint, resolve_device
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


def parse_context(spec: str | int) -> int | str:
    """"half" or a whole number of context pixels (>= 0)."""
    if isinstance(spec, int) or str(spec).strip().isdigit():
        return int(spec)
    if str(spec).strip().lower() == "half":
        return "half"
    raise SirenError(f"--context must be a number of pixels or 'half', got {spec!r}")


def _mask(context: int | str, size: int, seed: int) -> torch.Tensor:
    context = parse_context(context)
    if context == "half":
        return half_mask((size, size))
    if context > size * size:
        raise SirenError(f"--context {context} is larger than the image: the prior works on {size}x{size} = "
                         f"{size * size} pixels (pass at most {size * size}, or half)")
    return fixed_masks(1, (size, size), context, seed)[0]


def _shown(values: torch.Tensor, mask: torch.Tensor | None = None) -> np.ndarray:
    """(H, W, C) in [-1, 1] -> (H, W, 3) in [0, 1] for display; pixels outside `mask` painted UNKNOWN."""
    img = to_unit(values).cpu().numpy()
    if mask is not None:
        img = np.where(mask.cpu().numpy()[..., None], img, UNKNOWN)
    return img


@torch.no_grad()
def inpainting_figure(model, images: torch.Tensor, contexts: list, path: Path, title: str | None = None,
                      seed: int = EVAL_SEED) -> None:
    """Rows: images (M, S, S, 3) in [-1, 1]; columns: for each context (a pixel count or "half") the context and
    the reconstruction, then the truth."""
    plt = viz.pyplot()
    device = next(model.parameters()).device
    m, size = images.shape[0], images.shape[1]
    cols = 2 * len(contexts) + 1
    fig, axes = plt.subplots(m, cols, figsize=(1.3 * cols, 1.3 * m + (0.4 if title else 0)), squeeze=False)
    for c, context in enumerate(contexts):
        masks = torch.stack([_mask(context, size, seed + i) for i in range(m)])
        pred = model(images.to(device), masks.to(device)).pred.cpu()
        label = "top half" if context == "half" else f"{context} px"
        axes[0, 2 * c].set_title(f"context\n{label}", fontsize=8)
        axes[0, 2 * c + 1].set_title(f"reconstruction\n{label}", fontsize=8)
        for r in range(m):
            axes[r, 2 * c].imshow(_shown(images[r], masks[r]), interpolation="nearest")
            axes[r, 2 * c + 1].imshow(_shown(pred[r]), interpolation="nearest")
    axes[0, -1].set_title("truth\n", fontsize=8)
    for r in range(m):
        axes[r, -1].imshow(_shown(images[r]), interpolation="nearest")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _input(spec: str | Path) -> Path:
    path = Path(spec)
    if not path.is_file():
        raise SirenError(f"image not found: {path} (pass an image file)")
    return path


@torch.no_grad()
def inpaint(checkpoint: str | Path, image: str | Path, context: int | str, out_dir: str | Path, seed: int = 0,
            render_size: int | None = None, overwrite: bool = False, device: str = "cpu") -> dict:
    """Reconstruct `image` from `context` of its pixels (a count drawn at random with `seed`, or "half": the top
    half) with a trained prior. Writes into out_dir: inpainting.png (context, reconstruction, truth),
    context.png, reconstruction.png (the SIREN / CNP rendered at render_size, default the trained size),
    metrics.json ({"task": "prior inpaint", "model", "steps", "seconds", "interrupted", "metrics": {"context",
    "mse", "psnr"}}; MSE and PSNR of the whole image on [0, 1]) and outputs.json. Returns metrics.json's content."""
    from ..train import prepare_out_dir, write_manifest
    t0 = time.perf_counter()
    model, meta, ckpt = load_prior(checkpoint, device)
    size = int(meta["size"])
    values = prior_image(_input(image), size)
    mask = _mask(context, size, seed)
    if render_size is not None and render_size < 2:
        raise SirenError(f"--render-size must be at least 2, got {render_size}")
    out = prepare_out_dir(out_dir, overwrite=overwrite)
    dev = next(model.parameters()).device
    res = model(values[None].to(dev), mask[None].to(dev))
    pred = res.pred[0].cpu()
    mse = float((to_unit(pred) - to_unit(values)).pow(2).mean())
    label = "top half" if parse_context(context) == "half" else f"{int(mask.sum())} px"
    inpainting_figure(model, values[None], [parse_context(context)], out / "inpainting.png",
                      title=f"{Path(image).name}: {label} of context, MSE {mse:.4f}", seed=seed)
    save_image(out / "context.png", _shown(values, mask))
    big = pred if render_size in (None, size) else model.render(res.z, (render_size, render_size))[0].cpu()
    save_image(out / "reconstruction.png", to_unit(big))
    summary = {"task": "prior inpaint", "model": ckpt["spec"]["name"], "steps": ckpt["step"],
               "seconds": time.perf_counter() - t0, "interrupted": False,
               "metrics": {"context": int(mask.sum()), "mse": mse, "psnr": 10 * math.log10(1 / max(mse, 1e-12))}}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    write_manifest(out, [Output("inpainting.png", "figure", f"context ({label}), reconstruction, truth"),
                         Output("context.png", "image", "the context pixels (others painted blue-gray)"),
                         Output("reconstruction.png", "image", f"the reconstruction, MSE {mse:.4f} on [0, 1]")])
    return summary


@torch.no_grad()
def interpolate(checkpoint: str | Path, image_a: str | Path, image_b: str | Path, out: str | Path, frames: int = 8,
                render_size: int | None = None, device: str = "cpu") -> Path:
    """Latent interpolation strip: encode both images from all their pixels (z_a, z_b), render the functions of
    (1 - t) z_a + t z_b for `frames` values of t in [0, 1] at render_size (default 4x the trained size), and write
    [A | t = 0 ... 1 | B] side by side as one PNG `out`. Returns its path."""
    out = Path(out)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise SirenError(f"the strip is an image file, got {out.name} (pass --out NAME.png)")
    if frames < 2:
        raise SirenError(f"--frames must be at least 2, got {frames}")
    model, meta, _ = load_prior(checkpoint, device)
    size = int(meta["size"])
    render_size = 4 * size if render_size is None else render_size
    if render_size < 2:
        raise SirenError(f"--render-size must be at least 2, got {render_size}")
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


# ---------------------------------------------------------------------------------------------------------------
# command line of the non-training commands

def _add_inpaint(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="run folder (or its checkpoint.pt) of `siren prior train`")
    p.add_argument("image", help="image file (centre-cropped and resized as in training)")
    p.add_argument("--context", default="100", help="context pixels: a number (e.g. 10, 100, 1000) drawn at random, "
                                                    "or half (the top half of the image) (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the context pixels (default 0)")
    p.add_argument("--render-size", type=int, help="side of reconstruction.png in pixels (default as trained)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")


def _add_interpolate(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="run folder (or its checkpoint.pt) of `siren prior train`")
    p.add_argument("image_a", metavar="IMG_A", help="first image file")
    p.add_argument("image_b", metavar="IMG_B", help="second image file")
    p.add_argument("--frames", type=int, default=8, help="interpolation steps from A to B (default 8)")
    p.add_argument("--render-size", type=int, help="side of each frame in pixels (default 4x the trained size)")
    p.add_argument("--out", required=True, help="the strip: a PNG file")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")


def _run_inpaint(args) -> None:
    summary = inpaint(args.checkpoint, args.image, args.context, args.out, seed=args.seed,
                      render_size=args.render_size, overwrite=args.overwrite, device=args.device)
    m = summary["metrics"]
    print(f"done: {m['context']} context pixels, MSE {m['mse']:.4f} ({m['psnr']:.2f} dB); outputs in {args.out}")


def _run_interpolate(args) -> None:
    path = interpolate(args.checkpoint, args.image_a, args.image_b, args.out, frames=args.frames,
                       render_size=args.render_size, device=args.device)
    print(f"wrote {path}")


# command name -> (help, add_arguments(parser), handler(parsed args)); `siren.cli` makes them subcommands
COMMANDS = {
    "prior inpaint": ("reconstruct an image from a few of its pixels with a trained prior (figure: context, "
                      "reconstruction, truth)", _add_inpaint, _run_inpaint),
    "prior interpolate": ("render the latent interpolation between two images as a strip", _add_interpolate,
                          _run_interpolate),
}
