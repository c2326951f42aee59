"""The launcher: a task class + its config + a model config + training settings -> a finished run folder.

    launch(Task, config, model_config, train, out)        what `siren <task> ...` does
      cls = Task.resolve(config)                          (e.g. a folder of images -> the batched fit)
      task = cls.from_config(config[, steps=][, shard=])  the task states what it needs as data: needs_steps,
                                                          sharded, model_kind
      run(task, name, train, out, options)                build the model of registry task.model_kind from the
                                                          task's hints, train (`siren.train.fit`), write outputs,
                                                          metrics.json, outputs.json, report.html

A sharded task under torchrun: rank r runs shard r into out/rank<r>/ (a run folder of its own, resumable with the
same world size); rank 0 writes out/metrics.json with the shares merged by `cls.merge`. Imports no task module.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from torch import nn

from . import distributed
from .errors import SirenError
from .models import build_model
from .run_folder import (CHECKPOINT, prepare_out_dir, write_config, write_manifest, write_metrics, write_report)
from .train import TrainConfig, TrainResult, fit, resolve_device, seed_everything

__all__ = ["launch", "run"]


def launch(task_cls, config, model_config, train: TrainConfig, out: str | os.PathLike, overwrite: bool = False,
           resume: bool = False, command: dict | None = None, report: bool = True) -> dict | None:
    """Run a task as the CLI does: build it from `config`, train the network of `model_config` (its build_args():
    registry name and options) with `train` into `out`. Returns metrics.json's content (None on ranks > 0 of a
    sharded run). Ctrl-C: checkpoint saved, summary["interrupted"] True."""
    cls = task_cls.resolve(config)
    name, options = model_config.build_args()
    extra = {"steps": train.steps} if cls.needs_steps else {}
    if not cls.sharded:
        task = cls.from_config(config, **extra)
        return run(task, name, train, out, options, overwrite=overwrite, resume=resume, command=command,
                   report=report)[2]
    ctx = distributed.init(train.device)
    try:
        task = cls.from_config(config, shard=(ctx.rank, ctx.world_size), **extra)
        out = Path(out)
        if ctx.world_size == 1:
            return run(task, name, train, out, options, overwrite=overwrite, resume=resume, command=command,
                       report=report)[2]
        error = None                    # rank 0 makes the folder; every rank stops on its error, none waits forever
        if ctx.is_main and not resume:
            try:
                prepare_out_dir(out, overwrite=overwrite)
            except SirenError as e:
                error = str(e)
        error = distributed.gather(error, ctx)[0]
        if error:
            raise SirenError(error)
        rank_cfg = replace(train, device=str(ctx.device), progress=train.progress and ctx.is_main)
        summary = run(task, name, rank_cfg, out / f"rank{ctx.rank}", options, resume=resume, command=command,
                      report=report)[2]
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
    finally:
        distributed.shutdown(ctx)


def run(task, model_name: str, cfg: TrainConfig, out_dir: str | os.PathLike, model_options: dict | None = None,
        overwrite: bool = False, resume: bool = False, command: dict | None = None,
        report: bool = True) -> tuple[nn.Module, TrainResult, dict]:
    """Build the model `model_name` of registry `task.model_kind` (options: its family's reading of
    task.model_hints() and the run's seed, under `model_options`), train it into out_dir, write the task's
    outputs, metrics.json, outputs.json and (unless report=False) report.html. Returns (model, result,
    metrics.json's content).

    `command` (e.g. the CLI arguments) is stored in config.json with everything else needed to rerun. If training
    fails before the run's first checkpoint, the folder this call created is removed again (so a rerun is not
    blocked); a later failure keeps the last checkpoint for --resume.
    """
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    try:
        model = build_model(model_name, task.in_features, task.out_features, kind=task.model_kind,
                            hints={**task.model_hints(), "seed": cfg.seed}, **(model_options or {}))
    except ValueError as e:
        raise SirenError(str(e))
    created = not Path(out_dir).exists()
    out = prepare_out_dir(out_dir, overwrite=overwrite, resume=resume)  # only once the run can start
    model.to(device)
    task.to(device)
    if not resume:
        write_config(out, command, model.spec, asdict(cfg), task.meta())
    try:
        result = fit(model, task, cfg, out, resume=resume)
    except BaseException as e:
        if not isinstance(e, KeyboardInterrupt) and created and not (out / CHECKPOINT).exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    model.eval()
    metrics, files = ({}, []) if result.interrupted else task.write_outputs(model, out, result.history)
    if result.interrupted and result.history:
        metrics = {k: v for k, v in result.history[-1].items() if k not in ("step", "time", "weights")}
    summary = write_metrics(out, task.meta().get("task"), model_name, result.step,
                            result.history[-1]["time"] if result.history else 0.0, result.interrupted, metrics,
                            task.goals)
    write_manifest(out, files, report=report)
    if report:
        write_report(out)
    return model, result, summary
