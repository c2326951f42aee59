"""The launcher: a task class + its config + a model config + training settings -> a finished run folder.

    launch(Task, config, model_config, train, out)        what `siren <task> ...` does
      cls = Task.resolve(config)                          (e.g. a folder of images -> the batched fit)
      task = cls.from_config(config[, steps=][, shard=])  the task states what it needs as data: needs_steps,
                                                          sharded, model_kind
      run(task, name, train, out, options)                build the model of registry task.model_kind from the
                                                          task's hints, train (`siren.train.fit`), write outputs,
                                                          metrics.json, outputs.json, report.html

A sharded task under torchrun: rank r runs shard r into out/rank<r>/ (a run folder of its own, resumable with the
same world size); rank 0 writes out/metrics.json with the shares merged by `cls.merge`. A data-parallel task
(`data_parallel`) under torchrun: every rank builds the same model (same seed) and its share of each batch, the
gradients are averaged before each update (`distributed.average_gradients`), so every rank holds the same weights,
optimizer and random streams; rank 0 writes the one run folder `out`, the other ranks keep no files (a resume
starts them from rank 0's checkpoint). Imports no task module.

`model_config.init` (`--init RUN`): the freshly built model starts from the learned initialization in RUN's
checkpoint (`siren.models.apply_init`: same architecture or a one-line error); model.spec["init"] records it, so
config.json and the checkpoints say where the weights came from. `init_defaults(RUN)`: the flags it sets.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from torch import nn

from . import distributed
from .errors import SirenError
from .models import apply_init, architecture, build_model
from .run_folder import (CHECKPOINT, load_checkpoint, model_from_checkpoint, prepare_out_dir, write_config,
                         write_manifest, write_metrics, write_report)
from .runtime import outputs_memory
from .tensorboard import TensorBoard
from .train import TrainConfig, TrainResult, fit, resolve_device, seed_everything

__all__ = ["launch", "run", "load_init", "init_defaults"]


def launch(task_cls, config, model_config, train: TrainConfig, out: str | os.PathLike, overwrite: bool = False,
           resume: bool = False, command: dict | None = None, report: bool = True) -> dict | None:
    """Run a task as the CLI does: build it from `config`, train the network of `model_config` (its build_args():
    registry name and options; its `init`, if any) with `train` into `out`. Returns metrics.json's content (None
    on ranks > 0 of a parallel run). Ctrl-C: checkpoint saved, summary["interrupted"] True. Every strategy (one
    process, sharded, data-parallel) ends in the one `run` call below."""
    cls = task_cls.resolve(config)
    name, options = model_config.build_args()
    init = getattr(model_config, "init", None)
    extra = {"steps": train.steps} if cls.needs_steps else {}
    parallel = cls.sharded or cls.data_parallel
    ctx = distributed.init(train.device) if parallel else None
    try:
        task = cls.from_config(config, **extra, **({"shard": (ctx.rank, ctx.world_size)} if parallel else {}))
        folder, cfg, ready, main = Path(out), train, None, True
        if parallel and ctx.world_size > 1:
            cfg = replace(train, device=str(ctx.device), progress=train.progress and ctx.is_main)
            main = ctx.is_main
            if cls.sharded:          # rank r trains shard r into out/rank<r>; rank 0 makes out first
                _shared_folder(folder, ctx, overwrite, resume)
                folder, overwrite = folder / f"rank{ctx.rank}", False
            else:                    # data-parallel: rank 0 writes the run folder, the others replicate it
                ready = _meeting(ctx, task)
                if not main:
                    _replica(task, name, cfg, folder, options, resume, init, ready)
                    return None
        try:
            summary = run(task, name, cfg, folder, options, overwrite=overwrite, resume=resume, command=command,
                          report=report, init=init, ready=ready)[2]
        except SirenError as e:
            if ready is not None and not ready.met:
                ready(None, str(e))              # the other ranks wait for rank 0's model: stop them too
            raise
        if parallel and cls.sharded and ctx.world_size > 1:
            return _merge(cls, summary, ctx, Path(out), report)
        return summary
    finally:
        if ctx is not None:
            distributed.shutdown(ctx)


def _shared_folder(out: Path, ctx, overwrite: bool, resume: bool) -> None:
    """Rank 0 makes the run folder of a sharded run; every rank stops on its error, none waits forever."""
    error = None
    if ctx.is_main and not resume:
        try:
            prepare_out_dir(out, overwrite=overwrite)
        except SirenError as e:
            error = str(e)
    error = distributed.gather(error, ctx)[0]
    if error:
        raise SirenError(error)


def _merge(cls, summary: dict, ctx, out: Path, report: bool) -> dict | None:
    """Rank 0 of a sharded run: metrics.json of the shares merged by `cls.merge`."""
    shares = distributed.gather(summary, ctx)
    if not ctx.is_main:
        return None
    merged = cls.merge([(f"rank{r}", s["metrics"]) for r, s in enumerate(shares)])
    summary = write_metrics(out, summary["task"], summary["model"], summary["steps"],
                            max(s["seconds"] for s in shares), any(s["interrupted"] for s in shares),
                            {**merged, "world_size": ctx.world_size}, cls.goals)
    write_manifest(out, [], report=report)
    if report:
        write_report(out)
    return summary


def _meeting(ctx, task) -> Callable:
    """ready(model, error=None): every rank of a data-parallel run meets there once its model is built (rank 0:
    its folder made); rank 0's error stops all; then gradients are averaged across the ranks (the model's and
    those of the tensors the task trains with it, `task.parameters()`)."""
    def ready(model: nn.Module, error: str | None = None) -> None:
        ready.met = True
        error = distributed.gather(error, ctx)[0]
        if error:
            raise SirenError(error)
        groups = task.parameters() if hasattr(task, "parameters") else []
        distributed.average_gradients(model, ctx, [q for g in groups for q in g["params"]])
    ready.met = False
    return ready


def _replica(task, name: str, cfg: TrainConfig, out: Path, options: dict, resume: bool, init: str | None,
             ready: Callable) -> None:
    """A rank > 0 of a data-parallel run: the same model and training as rank 0, no files (a resume copies rank 0's
    checkpoint into a scratch folder: the ranks' states are identical)."""
    model = _build(task, name, cfg, options, init)
    model.to(resolve_device(cfg.device))
    task.to(resolve_device(cfg.device))
    ready(model)
    if not resume:
        fit(model, task, cfg)
        return
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(out / CHECKPOINT, Path(scratch) / CHECKPOINT)
        fit(model, task, cfg, scratch, resume=True)


def load_init(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """A learned initialization (a checkpoint of `siren meta train`: a run folder or its checkpoint.pt) -> (its
    model on the CPU, its record {"path", "step", "test_time"}). Another run's checkpoint is a one-line error.
    Read once per process and file version (the CLI's defaults and the launch share it); don't modify the model."""
    file = Path(path) / CHECKPOINT if Path(path).is_dir() else Path(path)
    stamp = file.stat().st_mtime_ns if file.is_file() else None
    return _read_init(str(Path(path).resolve()), stamp, str(path))


@functools.lru_cache(maxsize=4)
def _read_init(resolved: str, stamp: int | None, path: str) -> tuple[nn.Module, dict]:
    ckpt = load_checkpoint(path)
    test_time = (ckpt.get("task") or {}).get("test_time")
    if test_time is None:
        raise SirenError(f"{path} is a checkpoint of {(ckpt.get('task') or {}).get('task', 'an unknown task')!r}, "
                         f"not a learned initialization (pass the run folder of `siren meta train`)")
    return model_from_checkpoint(ckpt), {"path": str(Path(path).resolve()), "step": ckpt["step"], "test_time": test_time}


def init_defaults(path: str | os.PathLike, lr_given: bool = False) -> dict:
    """The flags `--init RUN` defaults (flags given explicitly win): the init's architecture (model,
    hidden_features, hidden_layers, first_omega_0, hidden_omega_0), its test-time learning rate and the inner loop's
    constant schedule (a task's default schedule, e.g. fit image's cosine, would change the first steps). An init
    meta-trained for another test-time optimizer than fit's Adam is an error unless the learning rate is given;
    a functa init (its test time: SGD on the latent at learned rates) sets lr 1, the factor on those rates."""
    source, record = load_init(path)
    tt = record["test_time"]
    if tt["optimizer"] != "adam" and "rates" not in tt and not lr_given:
        raise SirenError(f"{path} was meta-trained for {tt['optimizer']} test-time steps, but fitting uses Adam (pass "
                         f"--lr to fit from it with Adam anyway, or meta-train with --inner-optimizer adam)")
    arch = architecture(source)
    out = {k: arch[k] for k in ("hidden_features", "hidden_layers", "first_omega_0", "hidden_omega_0")}
    out["model"] = arch["name"]
    return {**out, "schedule": None, **({} if lr_given else {"lr": tt["lr"]})}


def _build(task, model_name: str, cfg: TrainConfig, model_options: dict | None, init: str | None) -> nn.Module:
    """Seed, build the model of registry task.model_kind from the task's hints, start it from `init` if given."""
    seed_everything(cfg.seed)
    try:
        model = build_model(model_name, task.in_features, task.out_features, kind=task.model_kind,
                            hints={**task.model_hints(), "seed": cfg.seed}, **(model_options or {}))
    except ValueError as e:
        raise SirenError(str(e))
    if init is not None:
        source, record = load_init(init)
        rates = record["test_time"].get("rates")    # a functa init: its latent's learned SGD rates, scaled by --lr
        model = apply_init(model, source, f"--init {init}", None if rates is None else [cfg.lr * r for r in rates])
        model.spec["init"] = record
    dtype = getattr(task, "dtype", None)              # a task that trains in another precision (siren solve --dtype)
    return model.to(dtype) if dtype is not None and dtype != next(model.parameters()).dtype else model


def run(task, model_name: str, cfg: TrainConfig, out_dir: str | os.PathLike, model_options: dict | None = None,
        overwrite: bool = False, resume: bool = False, command: dict | None = None,
        report: bool = True, init: str | None = None,
        ready: Callable[[nn.Module], None] | None = None) -> tuple[nn.Module, TrainResult, dict]:
    """Build the model `model_name` of registry `task.model_kind` (options: its family's reading of
    task.model_hints() and the run's seed, under `model_options`), train it into out_dir, write the task's
    outputs, metrics.json, outputs.json and (unless report=False) report.html. Returns (model, result,
    metrics.json's content).

    `init`: start from that learned initialization (see the module docstring). `ready(model)` runs once the model
    is on its device and the folder exists (a data-parallel run meets its other ranks there).
    `command` (e.g. the CLI arguments) is stored in config.json with everything else needed to rerun. If training
    fails before the run's first checkpoint, the folder this call created is removed again (so a rerun is not
    blocked); a later failure keeps the last checkpoint for --resume.
    """
    device = resolve_device(cfg.device)
    model = _build(task, model_name, cfg, model_options, init)
    created = not Path(out_dir).exists()
    out = prepare_out_dir(out_dir, overwrite=overwrite, resume=resume)  # only once the run can start
    model.to(device)
    task.to(device)
    if not resume:
        write_config(out, command, model.spec, asdict(cfg), task.meta())
    try:
        if ready is not None:
            ready(model)
        result = fit(model, task, cfg, out, resume=resume)
    except BaseException as e:
        if not isinstance(e, KeyboardInterrupt) and created and not (out / CHECKPOINT).exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    model.eval()
    with outputs_memory():               # the outputs' temporaries are not the training step's: give the heap back
        metrics, files = ({}, []) if result.interrupted else task.write_outputs(model, out, result.history)
    if result.interrupted and result.history:
        metrics = {k: v for k, v in result.history[-1].items() if k not in ("step", "time", "weights")}
    summary = write_metrics(out, task.meta().get("task"), model_name, result.step,
                            result.history[-1]["time"] if result.history else 0.0, result.interrupted, metrics,
                            task.goals)
    write_manifest(out, files, report=report)
    if report:
        write_report(out)
    if cfg.log == "tensorboard":
        board = TensorBoard(out)
        board.figures(out, result.step)
        board.close()
    return model, result, summary
