"""The one training loop shared by every task, and `run`, which turns a task + model name into a run folder.

A task is a `siren.tasks.Task` (the contract is in `siren.tasks.base`). A run folder holds config.json,
metrics.jsonl (one JSON line per log step: the loss, each raw term, their weights, the task's metrics), checkpoint.pt (every K steps,
at the end, on Ctrl-C: model, optimizer, schedule, random streams and the task's state), the task's outputs,
metrics.json ({"task", "model", "steps", "seconds", "interrupted", "metrics"}) and outputs.json (every file the
run wrote: path, kind, caption). It is never silently overwritten; a run that fails before its first checkpoint
removes the folder it created.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .diff.gemm import effective_precision
from .errors import SirenError
from .models import build_model, model_from_spec
from .options import option
from .tasks.base import Output

CHECKPOINT = "checkpoint.pt"
MATMUL_PRECISIONS = ("highest", "high", "medium")


@dataclass
class TrainConfig:
    """Optimisation settings (Adam). schedule: None (= "constant") | "cosine" (to 0 at the last step) | "step" (x0.1
    at 50% and 75% of steps).
    matmul_precision: torch.set_float32_matmul_precision during training: "highest" (float32, the default),
    "high" (TF32 on NVIDIA GPUs) or "medium" (also bfloat16 products on CPUs that have bfloat16 kernels, see
    `siren.diff.gemm`; elsewhere float32 with a warning)."""
    steps: int = option(500, "optimisation steps")
    lr: float = option(1e-4, "Adam learning rate")
    schedule: str | None = option(None, "learning-rate schedule", choices=["constant", "cosine", "step"])
    clip_grad: float | None = option(None, "clip the gradient norm to this value")
    log_every: int = option(25, "evaluate and log every N steps")
    checkpoint_every: int = option(100, "save a checkpoint every N steps")
    target: float | None = option(None, "stop at the first log step where the task's progress metric reaches this "
                                  "value (e.g. --target 30: 30 dB PSNR; an error metric such as rel_l2: at most it)")
    seed: int = option(0, "random seed")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    progress: bool = option(True, "hide the progress bar", flag="--no-progress")
    matmul_precision: str = option("highest", "float32 products while training: highest (float32), high (TF32 on "
                                   "NVIDIA GPUs), medium (bfloat16 products on CPUs with bfloat16 kernels: ~1.4x "
                                   "faster, see the README for the cost)", choices=list(MATMUL_PRECISIONS))

    def __post_init__(self):
        if self.steps <= 0:
            raise SirenError(f"steps must be positive, got {self.steps} (pass --steps N with N >= 1)")
        if not self.lr > 0:
            raise SirenError(f"learning rate must be positive, got {self.lr} (pass --lr, e.g. 1e-4)")
        for name in ("log_every", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise SirenError(f"{name} must be positive, got {getattr(self, name)} "
                                 f"(pass --{name.replace('_', '-')} N with N >= 1)")
        if self.schedule == "constant":
            self.schedule = None
        if self.schedule not in (None, "cosine", "step"):
            raise SirenError(f"unknown schedule {self.schedule!r} (choose cosine or step)")
        if self.matmul_precision not in MATMUL_PRECISIONS:
            raise SirenError(f"unknown matmul precision {self.matmul_precision!r} "
                             f"(choose {', '.join(MATMUL_PRECISIONS)})")
        if self.clip_grad is not None and not self.clip_grad > 0:  # a negative norm would flip the gradient
            raise SirenError(f"gradient clipping norm must be positive, got {self.clip_grad} (pass --clip-grad > 0)")


@dataclass
class TrainResult:
    step: int
    loss: float
    history: list = field(default_factory=list)
    interrupted: bool = False


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SirenError("CUDA was requested but is not available (use --device cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise SirenError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)


def prepare_out_dir(out_dir: str | os.PathLike, overwrite: bool = False, resume: bool = False) -> Path:
    """Create the run folder; refuse an existing non-empty one unless overwrite or resume."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SirenError(f"output path {out} exists and is not a folder (choose another --out)")
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise SirenError(f"nothing to resume: {out / CHECKPOINT} does not exist (drop --resume, or pass "
                             f"--overwrite to start that folder over)")
        return out
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            if (out / CHECKPOINT).is_file():
                raise SirenError(f"output folder {out} holds a run (pass --resume to continue it, --overwrite to "
                                 f"start over, or another --out)")
            raise SirenError(f"output folder {out} already exists and is not empty (pass --overwrite or another --out)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by `fit`; a missing or corrupt file is a SirenError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise SirenError(f"checkpoint not found: {path} (pass a run folder or its checkpoint.pt)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # torch raises many types on garbage input
        raise SirenError(f"cannot read checkpoint {path}: it is corrupt or not a siren checkpoint ({type(e).__name__})")
    if not isinstance(ckpt, dict) or not {"model", "spec", "step"} <= set(ckpt):
        raise SirenError(f"{path} is not a siren checkpoint (missing model/spec/step)")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the trained model stored in a checkpoint dict."""
    model = model_from_spec(ckpt["spec"])
    model.load_state_dict(ckpt["model"])
    return model


def _save(path: Path, payload: dict) -> None:
    """Atomic write: a crash mid-save never destroys the previous checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _scheduler(opt, cfg: TrainConfig):
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(opt, [cfg.steps // 2, (3 * cfg.steps) // 4], gamma=0.1)
    return None


def fit(model: nn.Module, task, cfg: TrainConfig, out_dir: str | os.PathLike | None = None, resume: bool = False,
        callback=None) -> TrainResult:
    """Train `model` on `task` with Adam for cfg.steps steps (counting steps done before a resume).

    Writes metrics.jsonl and checkpoint.pt into out_dir when given. callback(step, record) runs after each log
    step. Ctrl-C saves a checkpoint and returns with interrupted=True. A non-finite loss raises SirenError and
    leaves the last good checkpoint in place.
    """
    if resume and out_dir is None:
        raise SirenError("resume needs the run folder that holds the checkpoint (pass out_dir)")
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = _scheduler(opt, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    start, history, before = 0, [], 0.0
    if resume:
        ckpt = load_checkpoint(out / CHECKPOINT, map_location=device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None and ckpt.get("scheduler"):
            sched.load_state_dict(ckpt["scheduler"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        task.load_state_dict(ckpt.get("task_state") or {})
        start, history, before = ckpt["step"], ckpt.get("history", []), ckpt.get("seconds", 0.0)
        if start >= cfg.steps:
            return TrainResult(start, history[-1]["loss"] if history else float("nan"), history)

    def checkpoint(step: int) -> None:
        if out is None:
            return
        _save(out / CHECKPOINT, {"model": model.state_dict(), "spec": getattr(model, "spec", None), "step": step,
                                 "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else None,
                                 "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                                 "task": task.meta(), "task_state": task.state_dict(), "config": asdict(cfg),
                                 "history": history, "seconds": elapsed()})

    log = open(out / "metrics.jsonl", "a") if out is not None else None
    bar = _progress(cfg, start)
    step, loss_value, t0 = start, float("nan"), time.perf_counter()

    def elapsed() -> float:                             # training seconds, summed over resumed sessions
        return before + time.perf_counter() - t0

    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(effective_precision(cfg.matmul_precision, device))
    try:
        while step < cfg.steps:
            terms = task.loss(model, step, gen)
            loss = sum(weight * raw for raw, weight in terms.values())
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                kept = f"last good checkpoint kept at {out / CHECKPOINT}" if out is not None else "no checkpoint"
                raise SirenError(f"loss became {loss_value} at step {step + 1}; training stopped, {kept} "
                                 f"(lower --lr or check the input scaling)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip_grad:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                record = {"step": step, "loss": loss_value, **{k: float(raw.detach()) for k, (raw, _) in terms.items()},
                          "weights": {k: float(w) for k, (_, w) in terms.items()}, **_evaluate(task, model),
                          "time": elapsed()}
                history.append(record)
                if log is not None:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                if bar is not None:
                    bar.set_postfix(loss=f"{loss_value:.3g}", **{task.metric_name: f"{record.get(task.metric_name, float('nan')):.2f}"})
                if callback is not None:
                    callback(step, record)
                if reached(task, record, cfg.target):
                    cfg = replace(cfg, steps=step)            # stop here: checkpoint, outputs as at the last step
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                checkpoint(step)
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        checkpoint(step)
        where = f"; resume with --resume (checkpoint in {out})" if out is not None else ""
        print(f"interrupted at step {step}{where}")
        return TrainResult(step, loss_value, history, interrupted=True)
    finally:
        torch.set_float32_matmul_precision(precision)
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()
    return TrainResult(step, loss_value, history)


def reached(task, record: dict, target: float | None) -> bool:
    """Whether a log record's progress metric (task.metric_name) has reached `target`: at least it when the task's
    metric_goal is "max" (PSNR, SNR), at most it when "min" (errors)."""
    value = record.get(task.metric_name)
    if target is None or value is None:
        return False
    return value >= target if task.metric_goal == "max" else value <= target


def _evaluate(task, model) -> dict:
    was_training = model.training
    model.eval()
    try:
        return task.evaluate(model)
    finally:
        model.train(was_training)


def _progress(cfg: TrainConfig, start: int):
    if not cfg.progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=cfg.steps, initial=start, unit="step", dynamic_ncols=True)


def run(task, model_name: str, cfg: TrainConfig, out_dir: str | os.PathLike, model_options: dict | None = None,
        overwrite: bool = False, resume: bool = False, command: dict | None = None,
        report: bool = True) -> tuple[nn.Module, TrainResult, dict]:
    """Build the model for `task`, train it into out_dir, write the task's outputs, metrics.json, outputs.json and
    (unless report=False) report.html. Returns (model, result, metrics.json's content).

    model_options override the task's suggestions (task.model_options()). `command` (e.g. the CLI arguments)
    is stored in config.json with everything else needed to rerun. If training fails before the run's first
    checkpoint, the folder this call created is removed again (so a rerun is not blocked); a later failure keeps
    the last checkpoint for --resume.
    """
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    options = {**task.model_options(model_name), **(model_options or {})}
    try:
        model = build_model(model_name, task.in_features, task.out_features, **options)
    except ValueError as e:
        raise SirenError(str(e))
    created = not Path(out_dir).exists()
    out = prepare_out_dir(out_dir, overwrite=overwrite, resume=resume)  # only once the run can start
    model.to(device)
    task.to(device)
    if not resume:
        (out / "config.json").write_text(json.dumps(
            {"command": command, "model": model.spec, "train": asdict(cfg), "task": task.meta()}, indent=2, default=str))
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
    summary = {"task": task.meta().get("task"), "model": model_name, "steps": result.step,
               "seconds": result.history[-1]["time"] if result.history else 0.0, "interrupted": result.interrupted,
               "metrics": metrics}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float))
    write_manifest(out, files)
    if report:
        write_run_report(out, files)
    return model, result, summary


RUN_FILES = (Output("config.json", "log", "everything needed to rerun: command, model, training and task settings"),
             Output("metrics.jsonl", "log", "one JSON record per log step: loss, raw terms, weights, metrics"),
             Output(CHECKPOINT, "checkpoint", "model, optimizer and task state; --resume continues from it"),
             Output("metrics.json", "table", "final metrics: task, model, steps, seconds, metrics"),
             Output("report.html", "log", "this run on one page: metrics, curves, pictures, sound, video, meshes"))


def write_run_report(out: Path, files: list) -> None:
    """report.html for the run in `out` (`siren.report`), then outputs.json again so that it lists the report."""
    from .report import run_report
    run_report(out)
    write_manifest(out, files)


def write_manifest(out: Path, files: list) -> None:
    """outputs.json: the run's own files and the task's `files` (Output records) that exist in `out`."""
    entries = [o for o in (*RUN_FILES, *files) if (out / o.path).exists()]
    entries.append(Output("outputs.json", "log", "this list of the run's files"))
    (out / "outputs.json").write_text(json.dumps([asdict(o) for o in entries], indent=2))
