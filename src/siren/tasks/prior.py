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
Data-parallel under torchrun (`data_parallel`; `torchrun --nproc-per-node 2 -m siren.cli prior train ...`): the
batch and the context masks of step k are drawn for the whole batch on every process, process r encodes and scores
its share of the images (batch_size must split evenly), the launcher averages the gradients, so 2 processes take
the steps of 1 (every loss term is a mean over the batch's images).
Scores (held-out split, fixed context pixels drawn with seed 0 so every model sees the same): "mse_K" = MSE of the
whole reconstructed image on [0, 1] pixel values (clipped) from K context pixels, K in 10, 100, 1000 (those that fit
in the image); "psnr" = PSNR (dB) on [0, 1] from 100 context pixels (half of the pixels for images under 200
pixels). At each log step on 32 held-out images; at the end on up to 1,000 (`write_outputs`).

Inpainting and interpolation are not training runs: `siren.commands.prior` reads a checkpoint of `siren prior train`
and writes pictures. Context masks: `siren.data.masks`; the figure: `siren.viz.priors`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import distributed, viz
from ..data.imagefolder import Split, StepImages, spread, training_split
from ..data.packaged import DATASETS
from ..data.masks import EVAL_SEED, context_masks, fixed_masks
from ..errors import SirenError
from ..metrics import mse_to_psnr, to_unit
from ..options import option
from ..viz.priors import inpainting_figure
from .base import Output, Task, register

__all__ = ["PriorConfig", "PriorTask", "LATENT_WEIGHT", "PARAM_WEIGHT", "mse_at", "eval_context"]

LATENT_WEIGHT = 0.1                 # the paper's weight of mean(z^2)
PARAM_WEIGHT = 100.0                # the paper's weight of mean(theta^2)
EVAL_CONTEXTS = (10, 100, 1000)
LOG_EVAL_IMAGES = 32                # held-out images scored at each log step
FINAL_EVAL_IMAGES = 1000            # held-out images scored at the end

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
    out["psnr"] = mse_to_psnr(mse)
    return out


@dataclass
class PriorConfig:
    data: str | None = option(None, "folder of images (e.g. CelebA's img_align_celeba: its list_eval_partition.txt "
                              "is used when present; otherwise every 10th file is held out)", positional=True)
    demo: bool = option(False, "train on the bundled demo set instead: square crops of scikit-image's photographs, "
                        "split by photograph (no download)")
    dataset: str | None = option(None, "train on an image set that ships with a package: faces (scikit-image's LFW "
                                 "subset) or fashion-mnist (Debian's dataset-fashion-mnist)", choices=list(DATASETS))
    size: int = option(32, "images are centre-cropped and resized to size x size pixels")
    batch_size: int = option(32, "images per step")
    context_min: int = option(10, "fewest context pixels per training image")
    context_max: int = option(200, "most context pixels per training image")
    workers: int = option(2, "processes reading a folder's images (0: read them in the training process)")


@register
class PriorTask(Task):
    """Learn a prior over SIRENs (or the CNP baseline) on a Split of images; see the module docstring."""

    name = "prior train"
    help = "learn a prior over SIRENs (hypernetwork + set/CNN encoder, or the CNP baseline) on a folder of images"
    Config = PriorConfig
    train_defaults = {"steps": 20_000, "log_every": 250, "checkpoint_every": 1000}
    metric_name = "psnr"
    model_kind = "prior"        # the encoder (--encoder) and the SIRENs it generates: `siren.models.PriorModelConfig`
    data_parallel = True
    in_features, out_features = 2, 3

    def __init__(self, split: Split, batch_size: int = 32, context: tuple[int, int] = (10, 200), workers: int = 0,
                 shard: tuple[int, int] = (0, 1)):
        self.split, self.batch_size = split, batch_size
        self.size = split.train.size
        self.pixels = self.size * self.size
        low, high = context
        if batch_size < 1:
            raise SirenError(f"must be at least 1, got {batch_size}", field="batch_size")
        if not 0 <= low <= high:
            raise SirenError(f"context range [{low}, {high}] is empty or negative (pass 0 <= --context-min <= "
                             f"--context-max)")
        if high > self.pixels:
            raise SirenError(f"{high} is larger than the {self.pixels} pixels of a {self.size}x"
                             f"{self.size} image (lower it, or raise --size)", field="context_max")
        if workers < 0:
            raise SirenError(f"must be 0 or more, got {workers}", field="workers")
        self.context, self.workers = (low, high), workers
        self.part = distributed.batch_share(batch_size, *shard)
        self.device = torch.device("cpu")
        self.images = StepImages(split.train, batch_size, workers, self.part)
        self._eval = None

    @classmethod
    def from_config(cls, config: PriorConfig, shard: tuple[int, int] = (0, 1)) -> PriorTask:
        split = training_split(config.data, config.demo, config.size, config.dataset)
        return cls(split, config.batch_size, (config.context_min, config.context_max), config.workers, shard)

    def model_hints(self) -> dict:
        return {"resolution": self.size}

    def to(self, device) -> PriorTask:
        self.device = torch.device(device)
        self.images.close()
        self._eval = None
        return self

    def _batch(self, step: int, generator: torch.Generator) -> torch.Tensor:
        """This process's share of the training images of step `step` -> (b, S, S, 3) on the device."""
        return self.images(step, generator).to(self.device)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        images = self._batch(step, generator)
        mask = context_masks(self.batch_size, (self.size, self.size), *self.context, generator)   # whole batch
        mask = mask[self.part.start:self.part.stop].to(self.device)
        out = model(images, mask)
        mse = (out.pred - images).pow(2).mean()
        if out.std is not None:     # a CNP predicts a Gaussian per pixel: its own objective is the likelihood
            nll = (0.5 * math.log(2 * math.pi) + out.std.log() + 0.5 * ((images - out.pred) / out.std) ** 2).mean()
            return {"nll": (nll, 1.0), "mse": (mse, 0.0)}
        params = sum(p.pow(2).sum() for p in out.params) / sum(p.numel() for p in out.params)
        return {"mse": (mse, 1.0), "latent": (out.z.pow(2).mean(), LATENT_WEIGHT), "params": (params, PARAM_WEIGHT)}

    def _test_images(self, count: int) -> torch.Tensor:
        """`count` held-out images spread evenly over the split (all when it has fewer) -> (M, S, S, 3) on CPU."""
        return spread(self.split.test, count)

    def evaluate(self, model) -> dict:
        if self._eval is None:
            self._eval = self._test_images(LOG_EVAL_IMAGES)
        return _scores(model, self._eval)

    def meta(self) -> dict:
        return {"task": self.name, "size": self.size, "channels": 3,
                "context": list(self.context), "data": self.split.describe()}

    def state_dict(self) -> dict:
        return {"data_seed": self.images.seed}

    def load_state_dict(self, state: dict) -> None:
        self.images.seed = state.get("data_seed")
        self.images.close()

    def write_outputs(self, model, out_dir: Path, history: list):
        """inpainting.png (held-out images from 10 / 100 / 1000 / top-half context), psnr.png; metrics: the
        scores on up to 1,000 held-out images."""
        out_dir = Path(out_dir)
        self.images.close()                                # stop the loader's workers
        images = self._test_images(FINAL_EVAL_IMAGES)
        result = {**_scores(model, images), "test_images": int(images.shape[0])}
        show = images[torch.linspace(0, images.shape[0] - 1, min(6, images.shape[0])).round().long().unique()]
        contexts = [k for k in EVAL_CONTEXTS if k <= self.pixels] + ["half"]
        inpainting_figure(model, show, contexts, out_dir / "inpainting.png",
                          title=f"{model.spec['name']}: held-out images ({self.split.rule})")
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
