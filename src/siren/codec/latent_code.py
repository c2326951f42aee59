"""Range coding of integer latent grids in vectorised passes (the `constriction` range coder, 32-bit words).

Passes: grid L-1 (the coarsest) down to grid 0, in each the passes of the context scheme (`layout.CHECKERBOARD`). All
latents of a pass have their context decoded before the pass, so one fixed-point evaluation of the entropy model
(`exact`) gives all their Laplace parameters at once. Within a pass the latents are grouped by table row
(ascending, raster order inside a group) and each group is coded with that row's integer frequencies
(`laplace.table`) as the symbol d + SPAN, d = y - m: the coder sees the same integer tables at both ends.
NumPy only (`exact`): the decoder needs no PyTorch.
"""
from __future__ import annotations

from collections.abc import Callable

import constriction
import numpy as np

from ..errors import SirenError
from . import exact
from . import laplace
from .layout import CHECKERBOARD, PHASES, Arch, phase_contexts, shapes

__all__ = ["encode_latents", "decode_latents"]


def _passes(arch: Arch, q: exact.Quantized, latents: list[np.ndarray],
            code: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> None:
    """For each pass: (rows, m, symbols) -> the pass's latents, written into `latents` (float64 grids, in place); a
    pass's latents in raster order (its phases' contexts built from slices, `layout.phase_contexts`)."""
    scheme = CHECKERBOARD
    for i in range(len(latents) - 1, -1, -1):
        grid, parent = latents[i], latents[i + 1] if i + 1 < len(latents) else None
        flat, index = grid.reshape(-1), np.arange(grid.size).reshape(grid.shape)
        for k in range(max(scheme.passes) + 1):
            phases = [ph for ph, p in zip(PHASES, scheme.passes) if p == k]
            at = np.concatenate([index[dr::2, dc::2].ravel() for dr, dc in phases])
            if not len(at):
                continue
            order = np.argsort(at, kind="stable")
            at = at[order]
            ctx = np.concatenate([phase_contexts(grid, parent, scheme, dr, dc).reshape(scheme.size, -1)
                                  for dr, dc in phases], 1)
            rows, m = exact.arm_indices(arch, q, ctx[:, order])
            flat[at] = code(rows, m, flat[at])


def _groups(rows: np.ndarray):
    order = np.argsort(rows, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(rows[order]) != 0])
    return order, starts, np.r_[starts[1:], len(order)]


def _model(row: int):
    return constriction.stream.model.Categorical(laplace.table()[row], perfect=False)


def encode_latents(arch: Arch, q: exact.Quantized, latents: list[np.ndarray]) -> bytes:
    """Integer grids (values in [-LIMIT, LIMIT]) -> the range-coded bytes."""
    encoder = constriction.stream.queue.RangeEncoder()

    def code(rows, m, y):
        d = (np.round(y).astype(np.int64) - m + laplace.SPAN).astype(np.int32)
        order, starts, ends = _groups(rows)
        for a, b in zip(starts, ends):
            encoder.encode(d[order[a:b]], _model(int(rows[order[a]])))
        return y

    _passes(arch, q, [np.array(g, dtype=np.float64) for g in latents], code)
    return encoder.get_compressed().astype("<u4").tobytes()


def decode_latents(arch: Arch, size: tuple[int, int], q: exact.Quantized, data: bytes) -> list[np.ndarray]:
    """The range-coded bytes -> integer grids (float64) of an image of `size` (H, W)."""
    if len(data) % 4:
        raise SirenError("the .sirz latents are not whole 32-bit words (the file is damaged)")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
    latents = [np.zeros(s) for s in shapes(size, arch.grids)]

    def code(rows, m, y):
        out = np.empty(len(rows), dtype=np.int64)
        order, starts, ends = _groups(rows)
        for a, b in zip(starts, ends):
            out[order[a:b]] = decoder.decode(_model(int(rows[order[a]])), int(b - a))
        return out + m - laplace.SPAN

    _passes(arch, q, latents, code)
    return latents
