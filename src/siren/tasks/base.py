"""The task contract every application implements, and the registry that turns tasks into CLI commands.

A problem is a set of constraints on a network and its derivatives, sampled over a domain. A task says which, as
data and a few methods; it never builds a model, never runs a loop, never names a model family:

    name              registry name and CLI command: "poisson" -> `siren poisson`, "fit image" -> `siren fit image`
    Config            dataclass of the task's own options (fields declared with `siren.options.option`: the CLI
                      flags and config.json come from it; one place for each default)
    train_defaults    the task's overrides of `TrainConfig` defaults, e.g. {"steps": 1000}
    presets           named sets of defaults, {"paper": {flag field: value}} over the Config's and TrainConfig's
                      fields: `--preset paper` applies them to every flag not given (the paper's settings)
    model_kind        which model registry builds its network (`siren.models.KINDS`: "coordinates", "batched",
                      "prior")
    metric_name       the progress metric (a key of evaluate()): the progress bar and --target
    goals             {metric: "max" | "min"}: the better direction of its metrics (a name also covers the keys
                      that extend it after "_": "psnr" covers "psnr_grad"); written to metrics.json
    needs_steps       True: from_config also receives the run's number of steps (a curriculum's length)
    resolve(config)   (classmethod) the task class that runs this config (default: this one; a folder of images
                      is run by the batched fit)
    sharded           True: the launcher splits the work across processes: from_config(config, shard=(rank,
                      world)) builds this process's share, merge(records) combines the shares' metrics
    data_parallel     True: under torchrun every process trains the same model on its share of each step's batch
                      (from_config(config, shard=(rank, world))); the launcher averages the gradients across the
                      processes before each update and rank 0 writes the one run folder
    from_config(config)  build the task (load files, make targets) from its Config
    in_features, out_features   the network's input and output sizes
    model_hints() -> dict   facts about the problem that model families may read (`siren.models`: width,
                      hidden_features, first_omega_0, bandwidth, sidelength, num_signals, first_index, resolution: named as the
                      options they become)
    to(device)        move its tensors
    loss(model, step, generator) -> {name: (raw term, weight)}
                      step = number of steps already taken (curricula, pretraining phases); the loss minimised is
                      sum of weight * raw; training logs the raw terms and their weights. Derivatives come from
                      `siren.diff.derivatives` with a Request of what the loss needs, never by model name.
    evaluate(model) -> {metric: float}         cheap metrics at each log step
    write_outputs(model, out_dir, history) -> (final metrics dict, [Output])   files for people to look at
    state_dict() / load_state_dict(state)      the task's own state (sampler, curriculum), kept in the checkpoint
    meta() -> dict    what `render` needs to rebuild outputs from a checkpoint (its "task" key is `name`)
    Render            dataclass of the options of `siren render` for this task's checkpoints (None: not
                      renderable); e.g. an image's `size`, an audio clip's `rate`
    render(model, meta, out, options)          (classmethod) write `out` from a checkpoint's model; options: a
                      Render; meta: the checkpoint's meta() with its state_dict() under "state"
    example_args(folder) -> [str]              (classmethod) CLI arguments of a tiny run, for the smoke test

`siren.launch` runs a task into a run folder (`siren.run_folder`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..errors import SirenError
from ..models import KINDS
from ..run_folder import OUTPUT_KINDS, Output

__all__ = ["Task", "Output", "OUTPUT_KINDS", "register", "REGISTRY", "get_task", "MAX_BATCH"]

MAX_BATCH = 262_144           # points per step above which signal tasks draw random batches


@dataclass
class NoOptions:
    """A task without options of its own."""


class Task:
    """Base class of every task (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    Config: ClassVar[type] = NoOptions
    train_defaults: ClassVar[dict] = {}
    metric_name: ClassVar[str] = "psnr"
    goals: ClassVar[dict] = {"psnr": "max", "ssim": "max", "mse": "min"}
    presets: ClassVar[dict] = {}
    model_kind: ClassVar[str] = "coordinates"
    needs_steps: ClassVar[bool] = False
    sharded: ClassVar[bool] = False
    data_parallel: ClassVar[bool] = False
    Render: ClassVar[type | None] = None
    in_features: int
    out_features: int

    @classmethod
    def resolve(cls, config) -> type[Task]:
        return cls

    @classmethod
    def from_config(cls, config) -> Task:
        raise NotImplementedError

    def model_hints(self) -> dict:
        return {}

    def to(self, device) -> Task:
        return self

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        raise NotImplementedError

    def evaluate(self, model) -> dict:
        return {}

    def write_outputs(self, model, out_dir: Path, history: list) -> tuple[dict, list[Output]]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def meta(self) -> dict:
        return {"task": self.name}

    @classmethod
    def render(cls, model, meta: dict, out: Path, options) -> None:
        raise NotImplementedError

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        raise NotImplementedError


REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: add a Task subclass to the registry under `cls.name` (its CLI command)."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"task name {cls.name!r} is empty or taken")
    if not dataclasses.is_dataclass(cls.Config):
        raise TypeError(f"{cls.__name__}.Config must be a dataclass")
    if cls.Render is not None and not dataclasses.is_dataclass(cls.Render):
        raise TypeError(f"{cls.__name__}.Render must be a dataclass")
    if cls.model_kind not in KINDS:
        raise ValueError(f"{cls.__name__}.model_kind {cls.model_kind!r} is not a model kind ({', '.join(KINDS)})")
    REGISTRY[cls.name] = cls
    return cls


def get_task(name: str) -> type[Task]:
    """The registered task class of that name; SirenError when there is none."""
    if name not in REGISTRY:
        raise SirenError(f"unknown task {name!r} (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]
