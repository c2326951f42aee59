"""The task contract every application implements, and the registry that turns tasks into CLI commands.

A problem is a set of constraints on a network and its derivatives, sampled over a domain. A task says which:

    name              registry name and CLI command: "poisson" -> `siren poisson`, "fit image" -> `siren fit image`
    Config            dataclass of the task's own options (fields declared with `siren.options.option`: the CLI
                      flags and config.json come from it; one place for each default)
    train_defaults    the task's overrides of `TrainConfig` defaults, e.g. {"steps": 1000}
    from_config(cfg)  build the task (load files, make targets) from its Config
    in_features, out_features   the network's input and output sizes
    metric_name       the metric shown in the progress bar (a key of evaluate()); metric_goal "max" (PSNR) or
                      "min" (errors): the direction of --target, which stops training once it is reached
    presets           named sets of defaults, {"paper": {flag field: value}} over the Config's and TrainConfig's
                      fields: `--preset paper` applies them to every flag not given (the paper's settings)
    model_options(model_name) -> dict   what the task suggests for build_model (e.g. relu_pe's sidelength)
    to(device)        move its tensors
    loss(model, step, generator) -> {name: (raw term, weight)}
                      step = number of steps already taken (curricula, pretraining phases); the loss minimised is
                      sum of weight * raw; training logs the raw terms and their weights. Derivatives come from
                      `siren.diff.derivatives` with a Request of what the loss needs, never by model name.
    evaluate(model) -> {metric: float}         cheap metrics at each log step
    write_outputs(model, out_dir, history) -> (final metrics dict, [Output])   files for people to look at
    state_dict() / load_state_dict(state)      the task's own state (sampler, curriculum), kept in the checkpoint
    meta() -> dict    what `render` needs to rebuild outputs from a checkpoint (its "task" key is `name`)
    render(model, meta, out, size, rate, fps)  (classmethod) `siren render` of this task's checkpoints; meta's
                      "state" key holds the checkpoint's state_dict()
    example_args(folder) -> [str]              (classmethod) CLI arguments of a tiny run, for the smoke test
    launch(...)       (classmethod) how the CLI runs it: by default build the task and `siren.train.run` it

`train.run` writes the run folder: config.json, metrics.jsonl, checkpoint.pt, the task's files, metrics.json
({"task", "model", "steps", "seconds", "interrupted", "metrics"}) and outputs.json (every file, with its kind and a
caption).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..errors import SirenError

__all__ = ["Task", "Output", "OUTPUT_KINDS", "register", "REGISTRY", "get_task", "MAX_BATCH"]

MAX_BATCH = 262_144           # points per step above which signal tasks draw random batches
OUTPUT_KINDS = ("image", "figure", "audio", "video", "mesh", "field", "table", "checkpoint", "log")


@dataclass(frozen=True)
class Output:
    """One file a run wrote: path relative to the run folder, kind (one of OUTPUT_KINDS), a one-line caption."""
    path: str
    kind: str
    caption: str

    def __post_init__(self):
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"unknown output kind {self.kind!r} (choose from {', '.join(OUTPUT_KINDS)})")


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
    metric_goal: ClassVar[str] = "max"
    presets: ClassVar[dict] = {}
    in_features: int
    out_features: int

    @classmethod
    def from_config(cls, config) -> Task:
        raise NotImplementedError

    def model_options(self, model_name: str) -> dict:
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
    def render(cls, model, meta: dict, out: Path, size: int | None = None, rate: int | None = None,
               fps: float | None = None) -> None:
        raise SirenError(f"`siren render` does not support {meta.get('task', cls.name)!r} checkpoints "
                         f"(render fits of images, audio and video)")

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        raise NotImplementedError

    @classmethod
    def launch(cls, config, model, train, out, overwrite: bool = False, resume: bool = False,
               command: dict | None = None, report: bool = True) -> dict:
        """Run the task as the CLI does: build it from `config`, train `model` (a ModelConfig) with `train` (a
        TrainConfig) into `out`. Returns metrics.json's content."""
        from ..train import run
        return run(cls.from_config(config), model.model, train, out, model.options(), overwrite=overwrite,
                   resume=resume, command=command, report=report)[2]


REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: add a Task subclass to the registry under `cls.name` (its CLI command)."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"task name {cls.name!r} is empty or taken")
    if not dataclasses.is_dataclass(cls.Config):
        raise TypeError(f"{cls.__name__}.Config must be a dataclass")
    REGISTRY[cls.name] = cls
    return cls


def get_task(name: str) -> type[Task]:
    """The registered task class of that name; SirenError when there is none."""
    if name not in REGISTRY:
        raise SirenError(f"unknown task {name!r} (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]
