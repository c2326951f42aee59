"""The one training loop shared by every task (`fit`), and its settings (`TrainConfig`).

`fit` takes any object with the task contract (`siren.tasks.base.Task`: loss, evaluate, metric_name, goals,
state_dict, meta); it imports no task. In a run folder (`siren.run_folder`) it appends metrics.jsonl (one strict JSON
line per log step: the loss, each raw term, their weights, the task's metrics; NaN as null) and writes checkpoint.pt
(every K steps, at the end, on Ctrl-C: model, optimizer, schedule, random streams and the task's state); a resume
first cuts metrics.jsonl back to the checkpoint's step. Progress: a bar on a terminal, else one line per log step.
`siren.launch` builds the task and the model and calls it. A task with a `parameters()` method (the unknowns of
`siren.tasks.solve`: Adam parameter groups, {"params": [...]} with an optional "lr") has those tensors trained with
the model by the same Adam; they live in the task's state_dict. A task with `lbfgs_steps` = K > 0 takes its last K
steps with L-BFGS (one iteration each, strong-Wolfe line search), all on the points of the first of them (L-BFGS's
curvature pairs need one fixed objective); the checkpoint keeps them.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .diff.gemm import effective_precision
from .errors import SirenError
from .options import option
from .run_folder import CHECKPOINT, LOG, cut_log, load_checkpoint, metric_goals, save_checkpoint, to_json
from .tensorboard import SINKS, TensorBoard, require_sink

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
    progress: bool = option(True, "hide the progress bar (or, off a terminal, the line per log step)",
                            flag="--no-progress")
    matmul_precision: str = option("highest", "float32 products while training: highest (float32), high (TF32 on "
                                   "NVIDIA GPUs), medium (bfloat16 products on CPUs with bfloat16 kernels: ~1.4x "
                                   "faster, see docs/speed.md for the cost)", choices=list(MATMUL_PRECISIONS))
    log: str | None = option(None, "also write each log step's scalars and the run's figures as TensorBoard events "
                             "into <out>/tensorboard (needs the tensorboard extra)", choices=list(SINKS))

    def __post_init__(self):
        if self.steps <= 0:
            raise SirenError(f"steps must be positive, got {self.steps} (pass --steps N with N >= 1)")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise SirenError(f"learning rate must be a positive number, got {self.lr} (pass --lr, e.g. 1e-4)")
        if self.target is not None and not math.isfinite(self.target):
            raise SirenError(f"target must be a finite number, got {self.target} (pass --target, e.g. 30)")
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
        require_sink(self.log)
        if self.clip_grad is not None and not (math.isfinite(self.clip_grad) and self.clip_grad > 0):  # < 0 flips it
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
    extra = list(task.parameters()) if hasattr(task, "parameters") else []   # a problem's unknowns: param groups
    opt = torch.optim.Adam([{"params": list(model.parameters())}, *extra] if extra else model.parameters(), lr=cfg.lr)
    sched = _scheduler(opt, cfg)
    lbfgs_from = cfg.steps - int(getattr(task, "lbfgs_steps", 0) or 0)   # a task may end with L-BFGS steps
    gen = torch.Generator().manual_seed(cfg.seed)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    start, history, before, fixed = 0, [], 0.0, None
    if resume:
        ckpt = load_checkpoint(out / CHECKPOINT, map_location=device)
        model.load_state_dict(ckpt["model"])
        if lbfgs_from < cfg.steps and ckpt["step"] >= lbfgs_from:
            opt, fixed = _lbfgs(opt), ckpt["lbfgs_points"]
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None and ckpt.get("scheduler"):
            sched.load_state_dict(ckpt["scheduler"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        task.load_state_dict(ckpt.get("task_state") or {})
        start, history, before = ckpt["step"], ckpt.get("history", []), ckpt.get("seconds", 0.0)
        cut_log(out / LOG, start)                   # the steps logged after this checkpoint are run again
        if start >= cfg.steps:
            return TrainResult(start, history[-1]["loss"] if history else float("nan"), history)

    def checkpoint(step: int) -> None:
        if out is None:
            return
        save_checkpoint(out / CHECKPOINT, {"model": model.state_dict(), "spec": getattr(model, "spec", None), "step": step,
                                 "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else None,
                                 "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                                 "task": task.meta(), "task_state": task.state_dict(), "config": asdict(cfg),
                                 "history": history, "seconds": elapsed(),
                                 **({"lbfgs_points": fixed} if fixed is not None else {})})

    log = open(out / LOG, "a") if out is not None else None
    board = TensorBoard(out) if cfg.log == "tensorboard" and out is not None else None
    bar = Progress(cfg.steps, start, task.metric_name) if cfg.progress else None
    step, loss_value, t0 = start, float("nan"), time.perf_counter()

    def elapsed() -> float:                             # training seconds, summed over resumed sessions
        return before + time.perf_counter() - t0

    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(effective_precision(cfg.matmul_precision, device))
    try:
        while step < cfg.steps:
            if step >= lbfgs_from and not isinstance(opt, torch.optim.LBFGS):
                opt, fixed = _lbfgs(opt), gen.get_state()    # L-BFGS on fixed points: the first phase step's
            if fixed is not None:
                gen.set_state(fixed)
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
            if fixed is not None:                         # L-BFGS: its line search re-evaluates the same points
                opt.step(lambda: _reevaluate(task, model, step, gen, fixed, opt))
            else:
                opt.step()
            if sched is not None and fixed is None:
                sched.step()
            step += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                record = {"step": step, "loss": loss_value, **{k: float(raw.detach()) for k, (raw, _) in terms.items()},
                          "weights": {k: float(w) for k, (_, w) in terms.items()}, **_evaluate(task, model),
                          "time": elapsed()}
                history.append(record)
                if log is not None:
                    log.write(to_json(record) + "\n")
                    log.flush()
                if board is not None:
                    board.log(record)
                if bar is not None:
                    bar.log(record)
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
        if board is not None:
            board.close()
    return TrainResult(step, loss_value, history)


def _lbfgs(adam) -> torch.optim.LBFGS:
    """The L-BFGS phase's optimizer over Adam's parameters: one iteration a step, a strong-Wolfe line search of
    up to 24 trial points (max_eval: with max_iter=1 its default would allow none). No absolute stopping
    tolerances (torch's defaults, 1e-7 on the gradient and 1e-9 on the loss change, stop it for good on a problem
    whose loss is small, e.g. an inverse problem fitted to 1e-4): the run's steps say when it ends."""
    params = [p for group in adam.param_groups for p in group["params"]]
    return torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=25, history_size=50, line_search_fn="strong_wolfe",
                             tolerance_grad=0.0, tolerance_change=0.0)


def _reevaluate(task, model, step: int, gen: torch.Generator, drawn, opt) -> torch.Tensor:
    """The loss at this step's points again (the generator back at `drawn`), with its gradient."""
    gen.set_state(drawn)
    opt.zero_grad(set_to_none=True)
    loss = sum(weight * raw for raw, weight in task.loss(model, step, gen).values())
    loss.backward()
    return loss


def reached(task, record: dict, target: float | None) -> bool:
    """Whether a log record's progress metric (task.metric_name) has reached `target`: at least it when its goal
    (task.goals) is "max" (PSNR, SNR), at most it when "min" (errors)."""
    value = record.get(task.metric_name)
    if target is None or value is None:
        return False
    goal = metric_goals(task.goals, {task.metric_name: value})[task.metric_name]
    return value >= target if goal == "max" else value <= target


def _evaluate(task, model) -> dict:
    was_training = model.training
    model.eval()
    try:
        return task.evaluate(model)
    finally:
        model.train(was_training)


class Progress:
    """The progress of `fit` on stderr: a tqdm bar on a terminal; elsewhere (a pipe, a batch log) no bar, one plain
    line per log step ("step 25/500: loss 0.012, psnr 23.41"), never a carriage return."""

    def __init__(self, total: int, start: int, metric: str):
        self.total, self.metric, self.bar = total, metric, None
        if sys.stderr.isatty():
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, steps: int) -> None:
        if self.bar is not None:
            self.bar.update(steps)

    def log(self, record: dict) -> None:
        """Show a log record: its loss and the task's progress metric."""
        value = record.get(self.metric)
        shown = {"loss": f"{record['loss']:.3g}", self.metric: "n/a" if value is None else f"{value:.2f}"}
        if self.bar is not None:
            self.bar.set_postfix(**shown)
        else:
            print(f"step {record['step']}/{self.total}: " + ", ".join(f"{k} {v}" for k, v in shown.items()),
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
