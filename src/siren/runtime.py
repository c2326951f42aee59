"""The process and its machine: allocator tuning, output paths that can be written, memory that is available.

`require_writable(path)` and `require_memory(bytes_for, value, ...)` (with `require_points` for sample counts) let a
command refuse bad input before any work: an output it could not write, a size whose estimated peak (host)
memory exceeds what is available, naming the largest size that fits. The estimates live with what they size
(`siren.data.signal.fit_bytes`, `siren.solvers.helmholtz.solve_bytes`, ...); this module holds the one check.

`tune_allocator()` keeps glibc malloc from handing large blocks back to the kernel. PyTorch's CPU allocator calls
malloc directly, and every tensor above glibc's mmap threshold (128 KiB to 32 MiB, adaptive) is a fresh mmap:
the kernel zero-fills each page on first touch and unmaps it on free, so a training step that creates and frees
hundreds of MiB of activations pays page faults and zeroing for every one of them on every step. On CPU this can
be a large share (up to about half) of a SIREN derivative-supervised training step. With mmap disabled and trimming
off, freed blocks stay in the heap and are reused by the next step.

Trade-off: the process keeps its peak heap (resident memory does not shrink after a large step). Call it once,
early, in a process that trains on CPU (e.g. a CLI run or a benchmark); it is not done automatically. After
training, `outputs_memory()` (a context) hands the free heap back and lets large blocks be mmapped again, so that
the outputs (rendering a large signal in chunks, meshing, metrics) do not pile their temporaries on top of the
training heap; on exit the tuning is applied again for a next run in the same process.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from .errors import SirenError

__all__ = ["tune_allocator", "outputs_memory", "require_writable", "available_memory", "require_memory",
           "POINT_BYTES", "require_points"]

# glibc <malloc.h> parameter numbers for mallopt(3)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4

_INT_MAX = 2 ** 31 - 1
_TUNED: tuple | None = None    # tune_allocator's arguments once applied
POINT_BYTES = 4096     # about, per sample point of a step: coordinates, values, derivative jets, a 256-wide network's
                       # activations kept for the backward pass


def tune_allocator(top_pad: int = 1 << 30, trim_threshold: int | None = None) -> bool:
    """Tune glibc malloc for large, repeatedly allocated tensors: mallopt(M_MMAP_MAX, 0) (never mmap; serve every
    block from the heap), M_TRIM_THRESHOLD = `trim_threshold` bytes (None, the default: never give freed heap back
    to the OS; a finite value must exceed the largest step's working set, or each step faults its pages in again)
    and M_TOP_PAD = `top_pad` bytes (grow the heap in large steps).

    Returns True when all three settings were applied, False where there is no glibc (macOS, Windows, musl) or a
    call was refused; then nothing needs undoing and the process simply runs with the default allocator.
    Affects only allocations made after the call, in this process.
    """
    global _TUNED
    libc = _glibc()
    if libc is None:
        return False
    _TUNED = (top_pad, trim_threshold)
    mallopt = libc.mallopt
    trim = -1 if trim_threshold is None else min(int(trim_threshold), _INT_MAX)   # -1: trimming disabled
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, trim) == 1
    ok &= mallopt(M_TOP_PAD, min(int(top_pad), _INT_MAX)) == 1
    return bool(ok)


@contextmanager
def outputs_memory(mmap_threshold: int = 1 << 20):
    """A context without `tune_allocator`'s settings (a no-op where it was not applied): on entry malloc_trim(0)
    (free heap pages back to the OS), blocks of at least `mmap_threshold` bytes mmapped again (returned to the OS
    when freed) and glibc's default trimming; on exit the tuning again."""
    libc = _glibc() if _TUNED else None
    if libc is not None:
        libc.mallopt(M_MMAP_MAX, 65_536)
        libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
        libc.malloc_trim(0)
    try:
        yield
    finally:
        if libc is not None:
            tune_allocator(*_TUNED)


def _glibc():
    """glibc's mallopt and malloc_trim through ctypes (their argument types set), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def require_writable(path: str | os.PathLike, folder: bool = True) -> Path:
    """`path` as a Path, checked before any work: a SirenError unless it can be written, i.e. it is not the other
    kind (a file where a folder is wanted, or the reverse) and its nearest existing ancestor is a folder this
    process may write into."""
    path = Path(path)
    what = f"the output {'folder' if folder else 'file'} {path}"
    if path.exists() and path.is_dir() != folder:
        raise SirenError(f"cannot write {what}: it is a {'file' if folder else 'folder'} (choose another --out)")
    base = next(p for p in (path if folder else path.parent, *path.parents) if p.exists())   # a file may exist
    if not base.is_dir():
        raise SirenError(f"cannot write {what}: {base} is a file, not a folder (choose another --out)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise SirenError(f"cannot write {what}: permission denied in {base} (choose another --out)")
    return path


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def available_memory() -> int | None:
    """Bytes this process can still allocate: /proc/meminfo's MemAvailable (else os.sysconf's free pages), lowered
    to the room left under a cgroup memory limit (v2 or v1); None where the system does not say."""
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None:
            free = min(free, max(cap - used, 0))
    return free


def _gib(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def require_memory(bytes_for: Callable[[float], float], value: float, what: str, field: str,
                   least: float = 1) -> None:
    """Refuse `value` of the option `field` before anything is allocated: a SirenError when bytes_for(value), the
    estimated peak bytes of `what` (e.g. "a 100000 x 75000 image") at that value, exceeds `available_memory()`
    (no check where it is unknown). bytes_for must grow with its argument; the message names the largest value
    from `least` up that fits (by bisection; an integer for an int `value`), e.g. "size 100000 needs about
    1.71e+03 GiB of memory for a 100000 x 100000 image, 22.6 GiB are available (pass at most 11487)"."""
    need, free = bytes_for(value), available_memory()
    if free is None or need <= free:
        return
    if bytes_for(least) > free:
        fix = "free some memory first"
    else:
        lo, hi = least, value                   # bytes_for(lo) fits, bytes_for(hi) does not
        for _ in range(200):
            mid = (lo + hi) // 2 if isinstance(value, int) else (lo + hi) / 2
            if mid in (lo, hi) or (isinstance(value, float) and hi - lo <= 1e-3 * lo):
                break
            lo, hi = (mid, hi) if bytes_for(mid) <= free else (lo, mid)
        fix = f"pass at most {lo:.3g}" if isinstance(value, float) else f"pass at most {lo}"
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    raise SirenError(f"{shown} needs about {_gib(need)} of memory for {what}, {_gib(free)} are available ({fix})",
                     field=field)


def require_points(points: int, field: str, what: str = "points a step") -> None:
    """Refuse a number of sample points (a training step's, or a pool's) that would not fit in memory at about
    POINT_BYTES each (`require_memory`)."""
    require_memory(lambda p: p * POINT_BYTES, points, f"{points} {what}", field)
