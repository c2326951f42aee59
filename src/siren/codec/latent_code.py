"""Range coding of integer latent grids in vectorised passes (the `constriction` range coder, 32-bit words).

Passes: grid L-1 (the coarsest) down to grid 0, in each the passes of the model's context scheme (`grids`). All
latents of a pass have their context decoded before the pass, so one fixed-point evaluation of the entropy model
(`fixed`) gives all their Laplace parameters at once. Within a pass the latents are grouped by table row
(ascending, raster order inside a group) and each group is coded with that row's integer frequencies
(`laplace.table`) as the symbol d + SPAN, d = y - m: the coder sees the same integer tables at both ends.
"""
from __future__ import annotations

from collections.abc import Callable

import constriction
import numpy as np
import torch

from ..errors import SirenError
from . import fixed
from . import grids as G
from . import laplace
from .latent import LatentImage

__all__ = ["encode_latents", "decode_latents"]


def _passes(model: LatentImage, q: fixed.Quantized, latents: list[torch.Tensor],
            code: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> None:
    """For each pass: (rows, m, symbols-or-None) -> the pass's latents, written into `latents` (float64 grids); a
    pass's latents in raster order (its phases' contexts built from slices, `grids.phase_contexts`)."""
    scheme = model.scheme
    for i in range(len(latents) - 1, -1, -1):
        parent, flat = latents[i + 1] if i + 1 < len(latents) else None, latents[i].view(-1)
        index = torch.arange(flat.numel()).reshape(latents[i].shape)
        for k in range(max(scheme.passes) + 1):
            phases = [ph for ph, p in zip(G.PHASES, scheme.passes) if p == k]
            at = torch.cat([index[dr::2, dc::2].reshape(-1) for dr, dc in phases])
            if not len(at):
                continue
            at, order = torch.sort(at)
            ctx = torch.cat([G.phase_contexts(latents[i], parent, scheme, dr, dc).flatten(1) for dr, dc in phases], 1)
            rows, m = fixed.arm_indices(model, q, ctx[:, order])
            flat[at] = torch.from_numpy(code(rows, m, flat[at].numpy()).astype(np.float64))


def _groups(rows: np.ndarray):
    order = np.argsort(rows, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(rows[order]) != 0])
    return order, starts, np.r_[starts[1:], len(order)]


def _model(row: int):
    return constriction.stream.model.Categorical(laplace.table()[row], perfect=False)


def encode_latents(model: LatentImage, q: fixed.Quantized, latents: list[torch.Tensor]) -> bytes:
    """Integer grids (values in [-LIMIT, LIMIT]) -> the range-coded bytes."""
    encoder = constriction.stream.queue.RangeEncoder()

    def code(rows, m, y):
        d = (np.round(y).astype(np.int64) - m + laplace.SPAN).astype(np.int32)
        order, starts, ends = _groups(rows)
        for a, b in zip(starts, ends):
            encoder.encode(d[order[a:b]], _model(int(rows[order[a]])))
        return y

    _passes(model, q, [g.detach().double().clone() for g in latents], code)
    return encoder.get_compressed().astype("<u4").tobytes()


def decode_latents(model: LatentImage, q: fixed.Quantized, data: bytes) -> list[torch.Tensor]:
    """The range-coded bytes -> integer grids (float64) of the model's shapes."""
    if len(data) % 4:
        raise SirenError("the .sirz latents are not whole 32-bit words (the file is damaged)")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
    latents = [torch.zeros(s, dtype=torch.float64) for s in G.shapes(model.size, model.arch.grids)]

    def code(rows, m, y):
        out = np.empty(len(rows), dtype=np.int64)
        order, starts, ends = _groups(rows)
        for a, b in zip(starts, ends):
            out[order[a:b]] = decoder.decode(_model(int(rows[order[a]])), int(b - a))
        return out + m - laplace.SPAN

    _passes(model, q, latents, code)
    return latents
