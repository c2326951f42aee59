"""torch.distributed helpers for data-parallel runs launched by `torchrun` (one process per CPU slot or GPU).

    torchrun --standalone --nproc-per-node 2 -m siren.cli fit image photos/ --out runs/photos

`init(device)` joins the process group that torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT), with NCCL when the processes run on CUDA and gloo on CPU; without those variables it is
a single process and nothing is initialised. `shard` splits B items into contiguous per-rank blocks,
`gather` collects one picklable object from every rank (and so also waits for all of them), and
`average_gradients` makes every backward pass end with the gradients averaged over the ranks (data parallelism:
each rank computes the loss of its share of a batch). `leave(code)` ends a process that joined a group.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .errors import SirenError

__all__ = ["Context", "init", "shard", "gather", "mean", "average_gradients", "shutdown", "leave"]

_JOINED = False         # whether `init` made a process group in this process (then `leave` ends it with os._exit)


@dataclass(frozen=True)
class Context:
    """This process's place in the run: rank in [0, world_size), its device (cuda:LOCAL_RANK on GPU), backend."""
    rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SirenError(f"environment variable {name}={value!r} is not an integer (launch with torchrun)")


def init(device: str = "auto") -> Context:
    """Join torchrun's process group -> Context. device: "auto" | "cpu" | "cuda" | "cuda:N".

    Under torchrun, "auto" and "cuda" become cuda:LOCAL_RANK (one GPU per process, backend NCCL) when CUDA is
    present, else cpu (backend gloo). Without torchrun's variables (WORLD_SIZE unset or 1) this is a single process:
    device "auto" stays as given for `train.resolve_device`, and no process group is made.
    """
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return Context(device=device)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if device in ("auto", "cuda"):
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SirenError("CUDA was requested but is not available (use --device cpu or auto)")
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        if torch.device(device).index >= torch.cuda.device_count():
            raise SirenError(f"process {rank} wants {device} but only {torch.cuda.device_count()} GPUs are visible "
                             f"(start at most that many processes per node, or use --device cpu)")
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        global _JOINED
        dist.init_process_group(backend, rank=rank, world_size=world)
        _JOINED = True
    return Context(rank=rank, world_size=world, device=device, backend=backend)


def shard(n: int, rank: int, world_size: int) -> range:
    """Contiguous block of range(n) for `rank`: sizes differ by at most one, the first n % world_size ranks get
    the extra item, and the blocks of ranks 0..world_size-1 concatenate to range(n)."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside [0, {world_size})")
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (rank < extra))


def batch_share(batch: int, rank: int, world_size: int, field: str = "batch_size") -> range:
    """`shard` of a step's batch of `batch` items that must split evenly (a SirenError naming the option `field`
    otherwise), so that every rank's share weighs the same in the averaged gradient."""
    if batch % world_size:
        raise SirenError(f"{batch} images per step do not split evenly over {world_size} processes (pass a multiple "
                         f"of {world_size})", field=field)
    return shard(batch, rank, world_size)


def gather(obj, ctx: Context) -> list:
    """Every rank's `obj` (picklable), in rank order, on every rank; [obj] for a single process."""
    if ctx.world_size == 1:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def mean(flat: torch.Tensor, world_size: int) -> torch.Tensor:
    """flat <- its mean over the ranks, in place (one all_reduce); returns it."""
    dist.all_reduce(flat)
    flat /= world_size
    return flat


def average_gradients(model: torch.nn.Module, ctx: Context, extra=()):
    """Hook `model` (and the `extra` tensors trained with it, e.g. a problem's unknowns) so that each backward pass
    ends with every parameter's .grad replaced by its mean over the ranks: g <- (1 / world) sum_r g_r, one
    all_reduce of all gradients flattened in parameter order (a parameter without a gradient counts as zeros), so
    the order of collectives is the same on every rank. Runs after backward and before the optimizer (and before
    clipping), as DistributedDataParallel does; the model and its state_dict stay as they are. Returns a function
    that removes the hooks. A no-op for a single process."""
    if ctx.world_size == 1:
        return lambda: None
    params = [p for p in [*model.parameters(), *extra] if p.requires_grad]
    queued = [False]

    def reduce() -> None:
        queued[0] = False
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
        mean(flat, ctx.world_size)
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad = g.view_as(p).clone()

    def hook(_: torch.Tensor) -> None:
        if not queued[0]:                       # first gradient of this backward pass: reduce at its end
            queued[0] = True
            torch.autograd.Variable._execution_engine.queue_callback(reduce)

    handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
    return lambda: [h.remove() for h in handles]


def shutdown(ctx: Context) -> None:
    """Leave the process group made by `init` (no-op for a single process). The ranks first meet at a barrier, so
    none tears its connections down while a peer is still finishing the last collective (gloo aborts that peer)."""
    if ctx.world_size > 1 and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def leave(code: int) -> None:
    """End this process now with exit status `code` if `init` made a process group in it (a torchrun worker, after
    `shutdown`); return otherwise. stdout and stderr are flushed, then os._exit skips the interpreter's
    finalization, which a gloo process cannot survive reliably: destroy_process_group joins none of gloo's worker
    threads, and a worker releases the tensors of the last collectives (those of all_gather_object and the
    barrier's prior work) after the collective has returned to Python. Where that release comes while the
    interpreter finalizes, the thread cannot take the GIL, and the process aborts ("terminate called without an
    active exception", SIGABRT) after its work is done. Every file a run writes is closed before this point."""
    if not _JOINED:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):      # a closed or broken pipe: nothing more can be said on it
            pass
    os._exit(code)
