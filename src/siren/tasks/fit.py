"""Fitting a signal directly: loss = mean squared error between the network and the samples.

`SignalFitTask` works for any Signal (image, audio, video): coordinates are the signal's grid in [-1, 1]^d, values
in [-1, 1]. Full batch when the signal has at most `max_batch` samples, random coordinate batches otherwise. The
registered tasks `fit image`, `fit audio` and `fit video` (fit_image.py, fit_audio.py, fit_video.py) add their
inputs, metrics and files.

Cheap evaluation (`eval_prediction`, used by `fit image`; audio and video score their own way): the metrics logged
while training (and --target) are computed on all samples of a signal of at most EVAL_POINTS samples, else on a
fixed random subset of EVAL_POINTS of them (seed 0: the same subset at every log step and in every run; docs/images.md
says how close it comes). The final metrics (`write_outputs`) use every sample.

Data-parallel under torchrun (`data_parallel`; `torchrun --nproc-per-node 2 -m siren.cli fit image ...`): every
process holds the signal and draws the same step's batch (same seed), takes its block `distributed.shard(B, r, W)`
and weighs its mean squared error by its block's share, W |block| / B, so that the gradients averaged over the
processes are those of one process with the whole batch B; a signal fitted full batch splits its B = N samples
the same way.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from .. import diff, distributed
from ..data.grid import random_indices
from ..data.signal import Signal
from ..errors import SirenError
from .base import MAX_BATCH, Task

EVAL_POINTS = 65_536


class SignalFitTask(Task):
    """Fit a Signal by MSE: loss {"mse": mean over samples and channels of (Phi(x) - y)^2}; shard = (rank, world)
    of a data-parallel run."""

    data_parallel = True

    def __init__(self, signal: Signal, max_batch: int = MAX_BATCH, shard: tuple[int, int] = (0, 1)):
        self.signal = signal
        self.max_batch = max_batch
        self.shard = shard
        self.in_features, self.out_features = signal.dim, signal.channels
        self.coords, self.values = signal.coords(), signal.flat_values()
        n = self.coords.shape[0]
        self.eval_index = (None if n <= EVAL_POINTS else
                           random_indices(n, EVAL_POINTS, torch.Generator().manual_seed(0)).sort().values)

    def to(self, device):
        self.coords, self.values = self.coords.to(device), self.values.to(device)
        return self

    @torch.no_grad()
    def eval_prediction(self, model, chunk: int = 65_536) -> tuple[torch.Tensor, torch.Tensor]:
        """(prediction, truth), both (M, C), on the samples the log-step metrics use (see the module docstring)."""
        if self.eval_index is None:
            coords, values = self.coords, self.values
        else:
            idx = self.eval_index.to(self.coords.device)
            coords, values = self.coords[idx], self.values[idx]
        return torch.cat([diff.inference(model, c) for c in coords.split(chunk)]), values

    def batch_indices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """max_batch distinct random sample indices of the n (a subclass may sample otherwise)."""
        return random_indices(n, self.max_batch, generator)

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        n = self.coords.shape[0]
        idx = None if n <= self.max_batch else self.batch_indices(n, generator).to(self.coords.device)
        total = n if idx is None else len(idx)
        part = distributed.shard(total, *self.shard)     # this process's block of the step's batch
        if idx is None:
            coords, values = self.coords[part.start:part.stop], self.values[part.start:part.stop]
        else:
            coords, values = self.coords[idx[part.start:part.stop]], self.values[idx[part.start:part.stop]]
        value = diff.derivatives(model, coords).value              # fused sine layers when supported
        share = len(part) * self.shard[1] / total                  # 1 in one process
        return {"mse": ((value - values).pow(2).mean() * share, 1.0)}

    def meta(self) -> dict:
        return {"task": self.name, "shape": list(self.signal.shape), "channels": self.signal.channels,
                **self.signal.meta}


def source_path(path, demo: bool, locate_demo, kind: str) -> Path:
    """The PATH argument, or with `demo` the file that `locate_demo()` finds inside an installed package."""
    if (path is None) == (not demo):
        raise SirenError(f"give a {kind} PATH or --demo, not both or neither")
    return locate_demo() if demo else Path(path)


def positive(value, default, field: str):
    """`value` when given (it must be finite and > 0), else `default`; `field` names the option in the error."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise SirenError(f"must be a positive number, got {value}", field=field)
    return default if value is None else value
