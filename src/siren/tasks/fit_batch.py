"""Fitting B images at once with one batched network (model kind "batched", e.g. `models.batched.BatchedSiren`).

Member b fits image b: loss = sum_b MSE_b, so each member receives exactly the gradient of its own MSE (the members
share no parameter and Adam is element-wise): a batch of B takes, member by member, the same steps as B separate
`FitTask` runs seeded alike, in one set of kernel launches per step.

Images may differ in size: every image keeps its own grid over [-1, 1]^2; the grids are zero-padded to the largest
pixel count N_max, and padded points carry zero weight in the loss and are dropped from the metrics.
`siren fit image FOLDER` runs it (`ImageFitTask.resolve`), across processes under torchrun (`sharded`: each
process fits a contiguous share of the images; member b is seeded by seed + its global index, so the split does not
change any init):

    torchrun --standalone --nproc-per-node 2 -m siren.cli fit image photos/ --out runs/photos
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .. import distributed, metrics, viz
from ..data.image import load_image_folder, save_image
from ..data.signal import Signal
from ..errors import SirenError
from ..metrics import to_unit, unit_psnr
from .base import MAX_BATCH, Output, Task


class BatchFitTask(Task):
    """Fit B image Signals with a batched model (B, N, 2) -> (B, N, C). metric: mean of the per-image PSNRs.

    names: one per signal (used for output files); first_index: global index of signal 0 (for sharded runs).
    max_batch: points per step over the whole batch; when max_batch // B < N_max, each member draws
    max_batch // B of its own pixels per step (uniformly, with replacement).
    """

    name = "fit image"   # what `siren fit image FOLDER` runs (`ImageFitTask.resolve`; not registered itself)
    model_kind = "batched"
    sharded = True
    goals = {"psnr": "max", "mean_psnr": "max", "mean_ssim": "max"}

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

    @classmethod
    def from_config(cls, config, shard: tuple[int, int] = (0, 1)) -> BatchFitTask:
        """The images of the folder `config.path` (resized by `config.size`) in share `shard` = (rank, world
        size) of them."""
        signals, names = load_image_folder(config.path, config.size)
        rank, world = shard
        if world > len(signals):
            raise SirenError(f"{world} processes for {len(signals)} images (use at most {len(signals)} processes)")
        part = distributed.shard(len(signals), rank, world)
        return cls([signals[i] for i in part], [names[i] for i in part], first_index=part.start)

    @staticmethod
    def merge(shares: list[tuple[str, dict]]) -> dict:
        """[(folder of a share, its metrics)] -> the metrics of the whole folder, reconstruction paths under the
        shares' folders."""
        return summarize([{**r, "reconstruction": f"{folder}/{r['reconstruction']}"}
                          for folder, m in shares for r in m["images"]])

    def model_hints(self) -> dict:
        return {"num_signals": self.num_signals, "first_index": self.first_index}

    def to(self, device):
        self.coords, self.values = self.coords.to(device), self.values.to(device)
        self.weight, self.counts = self.weight.to(device), self.counts.to(device)
        return self

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
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
        return {"mse_sum": ((sq * weight).sum(), 1.0)}

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
        return {"task": self.name, "batched": True, "names": self.names, "first_index": self.first_index,
                "shapes": [list(s.shape) for s in self.signals], "channels": self.out_features,
                "sources": [s.meta.get("source") for s in self.signals]}

    def write_outputs(self, model, out_dir: Path, history: list):
        """reconstructions/<global index>_<name>.png and psnr.png; metrics: per image and mean PSNR / SSIM."""
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
        viz.curve(history, "psnr", out_dir / "psnr.png", ylabel="mean PSNR (dB)")
        return summarize(images), [*(Output(r["reconstruction"], "image", f"{r['name']}: {r['psnr']:.2f} dB PSNR")
                                     for r in images),
                                   Output("psnr.png", "figure", "mean PSNR (dB) against training step")]


def summarize(images: list[dict]) -> dict:
    """Per-image records -> {"mean_psnr", "mean_ssim", "images"} (the metrics of a folder fit)."""
    return {"mean_psnr": float(np.mean([r["psnr"] for r in images])),
            "mean_ssim": float(np.mean([r["ssim"] for r in images])), "images": images}


def _pad(t: torch.Tensor, n: int) -> torch.Tensor:
    """(M, k) -> (n, k), zero rows appended."""
    return torch.cat([t, t.new_zeros(n - t.shape[0], t.shape[1])])


