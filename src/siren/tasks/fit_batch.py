"""Fitting B images at once with one batched SIREN (`models.hyper.BatchedSiren`, registry name "siren_batch").

Member b fits image b: loss = sum_b MSE_b, so each member receives exactly the gradient of its own MSE (the members
share no parameter and Adam is element-wise): a batch of B takes, member by member, the same steps as B separate
`FitTask` runs seeded alike, in one set of kernel launches per step.

Images may differ in size: every image keeps its own grid over [-1, 1]^2; the grids are zero-padded to the largest
pixel count N_max, and padded points carry zero weight in the loss and are dropped from the metrics.

`fit_folder` fits every image of a folder, optionally data-parallel under torchrun: the B images are split into
contiguous shards, one per process, and each process fits its shard with `train.run` (member b seeded by
seed + b, its global index, so the split does not change any init).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .. import distributed, metrics, viz
from ..data.image import IMAGE_SUFFIXES, image_files, image_signal, load_image, resize_image, save_image
from ..data.signal import Signal
from ..errors import SirenError
from ..train import prepare_out_dir, run
from .fit import MAX_BATCH, to_unit, unit_psnr

MODEL = "siren_batch"


class BatchFitTask:
    """Fit B image Signals with a batched model (B, N, 2) -> (B, N, C). metric: mean of the per-image PSNRs.

    names: one per signal (used for output files); first_index: global index of signal 0 (for sharded runs).
    max_batch: points per step over the whole batch; when max_batch // B < N_max, each member draws
    max_batch // B of its own pixels per step (uniformly, with replacement).
    """

    metric_name = "psnr"

    def __init__(self, signals: Sequence[Signal], names: Sequence[str], first_index: int = 0,
                 max_batch: int = MAX_BATCH):
        if not signals or len(signals) != len(names):
            raise SirenError(f"need one name per signal and at least one signal (got {len(signals)} signals, "
                             f"{len(names)} names)")
        if len({(s.dim, s.channels) for s in signals}) != 1:
            raise SirenError("batched signals must share dimension and channel count (convert them to one format)")
        self.signals, self.names, self.first_index = list(signals), list(names), first_index
        self.max_batch = max_batch
        self.in_features, self.out_features = signals[0].dim, signals[0].channels
        coords = [s.coords() for s in signals]
        self.counts = torch.tensor([c.shape[0] for c in coords])                                 # (B,)
        n_max = int(self.counts.max())
        self.coords = torch.stack([_pad(c, n_max) for c in coords])                              # (B, N_max, d)
        self.values = torch.stack([_pad(s.flat_values(), n_max) for s in signals])               # (B, N_max, C)
        valid = torch.arange(n_max)[None, :] < self.counts[:, None]                              # (B, N_max)
        self.weight = valid / (self.counts[:, None] * self.out_features)                         # 1/(N_b C) or 0

    @property
    def num_signals(self) -> int:
        return len(self.signals)

    def model_options(self, model_name: str) -> dict:
        if model_name != MODEL:
            raise SirenError(f"batched fitting needs the batched model {MODEL!r}, not {model_name!r} "
                             f"(fit single files for other models)")
        return {"num_signals": self.num_signals}

    def to(self, device):
        self.coords, self.values = self.coords.to(device), self.values.to(device)
        self.weight, self.counts = self.weight.to(device), self.counts.to(device)
        return self

    def loss(self, model, generator: torch.Generator) -> dict:
        """{"mse_sum": sum_b MSE_b}, MSE_b = mean over image b's pixels and channels of (Phi_b(x) - y_b)^2."""
        n = max(1, self.max_batch // self.num_signals)
        if n >= self.coords.shape[1]:
            coords, values, weight = self.coords, self.values, self.weight
        else:
            u = torch.rand(self.num_signals, n, generator=generator).to(self.coords.device)
            idx = (u * self.counts[:, None]).long().clamp_max(self.counts[:, None] - 1)          # (B, n) valid
            coords = self.coords.gather(1, idx[..., None].expand(-1, -1, self.in_features))
            values = self.values.gather(1, idx[..., None].expand(-1, -1, self.out_features))
            weight = torch.full(idx.shape, 1.0 / (n * self.out_features), device=idx.device)
        sq = (model(coords) - values).pow(2).sum(-1)                                              # (B, n)
        return {"mse_sum": (sq * weight).sum()}

    @torch.no_grad()
    def render(self, model, chunk: int = 262_144) -> list[torch.Tensor]:
        """Every member on its own grid -> list of B tensors (*shape_b, C) in [-1, 1], on the model's device."""
        step = max(1, chunk // self.num_signals)
        pred = torch.cat([model(c) for c in self.coords.split(step, dim=1)], dim=1)
        return [p[:int(n)].reshape(*s.shape, -1) for p, n, s in zip(pred, self.counts, self.signals)]

    def psnrs(self, model) -> list[float]:
        """PSNR (dB, on [0, 1]) of each member against its image."""
        return [unit_psnr(p, s.values.to(p.device)) for p, s in zip(self.render(model), self.signals)]

    def evaluate(self, model) -> dict:
        psnr = self.psnrs(model)
        return {"psnr": float(np.mean(psnr)), "psnr_min": float(np.min(psnr))}

    def meta(self) -> dict:
        return {"task": "fit_batch", "kind": "image_batch", "names": self.names, "first_index": self.first_index,
                "shapes": [list(s.shape) for s in self.signals], "channels": self.out_features,
                "sources": [s.meta.get("source") for s in self.signals]}

    def write_outputs(self, model, out_dir: Path, history: list) -> dict:
        """reconstructions/<global index>_<name>.png, metrics.json (per image and mean PSNR / SSIM), psnr.png."""
        out_dir = Path(out_dir)
        (out_dir / "reconstructions").mkdir(exist_ok=True)
        images = []
        for b, (pred, signal, name) in enumerate(zip(self.render(model), self.signals, self.names)):
            pred_u, truth_u = to_unit(pred).cpu(), to_unit(signal.values)
            path = Path("reconstructions") / f"{self.first_index + b:04d}_{Path(name).stem}.png"
            save_image(out_dir / path, pred_u)
            images.append({"index": self.first_index + b, "name": name, "shape": list(signal.shape),
                           "psnr": metrics.psnr(pred_u, truth_u), "ssim": metrics.ssim(pred_u, truth_u),
                           "reconstruction": str(path)})
        result = summarize(images, history[-1]["step"] if history else 0)
        viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="mean PSNR (dB)")
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        return result


def summarize(images: list[dict], steps: int) -> dict:
    """Per-image records -> {"images", "mean_psnr", "mean_ssim", "steps"} (the schema of metrics.json)."""
    return {"images": images, "mean_psnr": float(np.mean([r["psnr"] for r in images])),
            "mean_ssim": float(np.mean([r["ssim"] for r in images])), "steps": steps}


def _pad(t: torch.Tensor, n: int) -> torch.Tensor:
    """(M, k) -> (n, k), zero rows appended."""
    return torch.cat([t, t.new_zeros(n - t.shape[0], t.shape[1])])


def load_folder(folder: str | Path, size: int | None = None) -> tuple[list[Signal], list[str]]:
    """Every image of a folder -> (Signals, file names), in natural name order (`siren.data.image.image_files`).

    Size rule: each image keeps its own shape, or with `size` is resized so its longer side is `size` pixels
    (aspect kept); shapes may differ (see BatchFitTask). Channels: if any image is RGB, gray images are repeated
    to 3 channels, so one model output size fits all.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SirenError(f"not a folder: {folder} (pass a folder of images)")
    files = image_files(folder)
    if not files:
        raise SirenError(f"no images in {folder} (expected files ending in {', '.join(IMAGE_SUFFIXES)})")
    images = [resize_image(load_image(f), size) for f in files]
    channels = max(img.shape[-1] for img in images)
    images = [np.repeat(img, channels, axis=-1) if img.shape[-1] < channels else img for img in images]
    return [image_signal(img, source=str(f)) for img, f in zip(images, files)], [f.name for f in files]


def fit_folder(folder: str | Path, cfg, out_dir: str | Path, size: int | None = None,
               model_options: dict | None = None, overwrite: bool = False, resume: bool = False,
               command: dict | None = None) -> dict | None:
    """Fit every image of `folder` with one batched SIREN per process; returns metrics.json's content on rank 0,
    None on other ranks. Ctrl-C: checkpoint saved, KeyboardInterrupt raised.

    One process: `out_dir` is an ordinary run folder (config.json, metrics.jsonl, checkpoint.pt of the whole batch,
    reconstructions/, metrics.json). Under torchrun with W processes: rank r fits shard r of the images into
    out_dir/rank<r>/ (a run folder of its own, resumable with the same W), and rank 0 writes out_dir/metrics.json
    with every image (same schema, reconstruction paths relative to out_dir, plus "world_size").
    """
    ctx = distributed.init(cfg.device)
    try:
        signals, names = load_folder(folder, size)
        if ctx.world_size > len(signals):
            raise SirenError(f"{ctx.world_size} processes for {len(signals)} images "
                             f"(use at most {len(signals)} processes)")
        part = distributed.shard(len(signals), ctx.rank, ctx.world_size)
        out = Path(out_dir)
        run_dir = out if ctx.world_size == 1 else out / f"rank{ctx.rank}"
        if ctx.world_size > 1:  # rank 0 makes the folder; every rank stops on its error, so none waits forever
            error = None
            if ctx.is_main and not resume:
                try:
                    prepare_out_dir(out, overwrite=overwrite)
                except SirenError as e:
                    error = str(e)
            error = distributed.gather(error, ctx)[0]
            if error:
                raise SirenError(error)
        task = BatchFitTask([signals[i] for i in part], [names[i] for i in part], first_index=part.start)
        options = {**(model_options or {}), "seeds": [cfg.seed + i for i in part]}
        rank_cfg = replace(cfg, device=ctx.device, progress=cfg.progress and ctx.is_main)
        _, result = run(task, MODEL, rank_cfg, run_dir, options, overwrite=overwrite and ctx.world_size == 1,
                        resume=resume, command=command)
        if result.interrupted:  # train.fit saved a checkpoint and said how to resume
            raise KeyboardInterrupt
        shard_metrics = json.loads((run_dir / "metrics.json").read_text())
        if ctx.world_size == 1:
            return shard_metrics
        shards = distributed.gather(shard_metrics["images"], ctx)
        if not ctx.is_main:
            return None
        images = [{**r, "reconstruction": f"rank{rank}/{r['reconstruction']}"}
                  for rank, records in enumerate(shards) for r in records]
        merged = {**summarize(images, shard_metrics["steps"]), "world_size": ctx.world_size}
        (out / "metrics.json").write_text(json.dumps(merged, indent=2))
        return merged
    finally:
        distributed.shutdown(ctx)
