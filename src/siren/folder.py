"""`siren fit image FOLDER`: every image of a folder fitted by one batched SIREN per process.

    torchrun --standalone --nproc-per-node 2 -m siren.cli fit image photos/ --out runs/photos

The B images are split into contiguous shards, one per process (`siren.distributed`), and each process fits its
shard with `train.run` on a `siren.tasks.fit_batch.BatchFitTask` (member b seeded by seed + b, its global index, so
the split does not change any init).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from . import distributed
from .data.image import load_image_folder
from .errors import SirenError
from .tasks.fit_batch import MODEL, BatchFitTask, summarize
from .train import prepare_out_dir, run, write_manifest, write_run_report

__all__ = ["fit_folder"]


def fit_folder(folder: str | Path, cfg, out_dir: str | Path, size: int | None = None,
               model_options: dict | None = None, overwrite: bool = False, resume: bool = False,
               command: dict | None = None, report: bool = True) -> dict | None:
    """Fit every image of `folder` with one batched SIREN per process; returns metrics.json's content on rank 0,
    None on other ranks. Ctrl-C: checkpoint saved, KeyboardInterrupt raised.

    One process: `out_dir` is an ordinary run folder (config.json, metrics.jsonl, checkpoint.pt of the whole batch,
    reconstructions/, metrics.json, outputs.json). Under torchrun with W processes: rank r fits shard r of the
    images into out_dir/rank<r>/ (a run folder of its own, resumable with the same W), and rank 0 writes
    out_dir/metrics.json with every image (same schema, reconstruction paths relative to out_dir, plus
    "world_size" in its metrics) and out_dir/outputs.json.
    """
    ctx = distributed.init(cfg.device)
    try:
        signals, names = load_image_folder(folder, size)
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
        _, result, summary = run(task, MODEL, rank_cfg, run_dir, options, overwrite=overwrite and ctx.world_size == 1,
                                 resume=resume, command=command, report=report)
        if result.interrupted:  # train.fit saved a checkpoint and said how to resume
            raise KeyboardInterrupt
        if ctx.world_size == 1:
            return summary
        shards = distributed.gather((summary["metrics"]["images"], summary["seconds"]), ctx)
        if not ctx.is_main:
            return None
        images = [{**r, "reconstruction": f"rank{rank}/{r['reconstruction']}"}
                  for rank, (records, _) in enumerate(shards) for r in records]
        merged = {**summary, "seconds": max(s for _, s in shards),
                  "metrics": {**summarize(images), "world_size": ctx.world_size}}
        (out / "metrics.json").write_text(json.dumps(merged, indent=2))
        write_manifest(out, [])
        if report:
            write_run_report(out, [])
        return merged
    finally:
        distributed.shutdown(ctx)
