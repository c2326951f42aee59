"""Process-level runtime tuning (opt-in; nothing here runs on import).

`tune_allocator()` keeps glibc malloc from handing large blocks back to the kernel. PyTorch's CPU allocator calls
malloc directly, and every tensor above glibc's mmap threshold (128 KiB to 32 MiB, adaptive) is a fresh mmap:
the kernel zero-fills each page on first touch and unmaps it on free, so a training step that creates and frees
hundreds of MiB of activations pays page faults and zeroing for every one of them on every step. On CPU this can
be a large share (up to about half) of a SIREN derivative-supervised training step. With mmap disabled and trimming
off, freed blocks stay in the heap and are reused by the next step.

Trade-off: the process keeps its peak heap (resident memory does not shrink after a large step). Call it once,
early, in a process that trains on CPU (e.g. a CLI run or a benchmark); it is not done automatically.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["tune_allocator"]

# glibc <malloc.h> parameter numbers for mallopt(3)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4

_INT_MAX = 2 ** 31 - 1


def tune_allocator(top_pad: int = 1 << 30, trim_threshold: int | None = None) -> bool:
    """Tune glibc malloc for large, repeatedly allocated tensors: mallopt(M_MMAP_MAX, 0) (never mmap; serve every
    block from the heap), M_TRIM_THRESHOLD = `trim_threshold` bytes (None, the default: never give freed heap back
    to the OS; a finite value must exceed the largest step's working set, or each step faults its pages in again)
    and M_TOP_PAD = `top_pad` bytes (grow the heap in large steps).

    Returns True when all three settings were applied, False where there is no glibc (macOS, Windows, musl) or a
    call was refused; then nothing needs undoing and the process simply runs with the default allocator.
    Affects only allocations made after the call, in this process.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim = -1 if trim_threshold is None else min(int(trim_threshold), _INT_MAX)   # -1: trimming disabled
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, trim) == 1
    ok &= mallopt(M_TOP_PAD, min(int(top_pad), _INT_MAX)) == 1
    return bool(ok)
