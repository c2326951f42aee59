"""Format version 2: a latent-grid image (`latent`, its entropy model over `grids.CHECKERBOARD` contexts) in a .sirz
file, and its exact decoding.

Byte layout (integers little-endian):

    offset  size  field
    0       4     magic b"SIRZ"
    4       1     format version (2)
    5       4     H - 1, W - 1 (uint16 each)
    9       6     channels, grids L, synthesis width, entropy-model width, its hidden layers, convolutions (uint8)
    15      1     the coder of the network's integers (index into `entropy.CODERS`)
    16      T     per network tensor (`fixed.parameters` order): its step exponent k (high 4 bits; step 2^-k) and
                  its bits b - 1 (low 4 bits; symbols in [-(2^(b-1) - 1), 2^(b-1) - 1])
    16+T    2     n: bytes of the coded network
    18+T    n     the network's integers, coded (`entropy`)
    18+T+n  m     the latents, range-coded (`latent_code`)
    end-4   4     CRC-32 of every byte before it

Decoding: the network from its integers, the latents pass by pass, then the synthesis, all in fixed point
(`fixed`): the same pixels as the encoder's reconstruction on every machine.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import SirenError
from . import entropy, fixed
from .format import MAGIC, opened, seal
from .latent import Arch, LatentImage
from .latent_code import decode_latents, encode_latents
from .quantize import levels

__all__ = ["write", "read", "decode", "weight_bits", "overhead"]

FORMAT = 2
_HEAD = struct.Struct("<4sBHHBBBBBBB")
_LEN = struct.Struct("<H")


def weight_bits(q: torch.Tensor) -> int:
    """The fewest bits b (2..16) whose symbols [-(2^(b-1) - 1), 2^(b-1) - 1] hold the integers q; 17 if none."""
    top = int(q.abs().max()) if q.numel() else 0
    return next((b for b in range(2, 17) if levels(b) >= top), 17)


def overhead(model: LatentImage) -> int:
    """Bytes of a file besides the coded network and latents."""
    return _HEAD.size + len(fixed.parameters(model)) + _LEN.size + 4


def code_network(q: fixed.Quantized) -> tuple[int, bytes]:
    """The network's integers -> (coder index, bytes): the shortest `entropy` coding."""
    tensors = [x.numpy().astype(np.int64).ravel() for x, _ in q.values()]
    coder, data = entropy.best(tensors, [weight_bits(x) for x, _ in q.values()])
    return entropy.CODERS.index(coder), data


def write(model: LatentImage, q: fixed.Quantized, latents: list[torch.Tensor]) -> bytes:
    """The .sirz bytes of a model with quantized network `q` (every tensor's bits <= 16) and integer latents."""
    a, (h, w) = model.arch, model.size
    coder, net = code_network(q)
    table = bytes((k << 4) | (weight_bits(x) - 1) for x, k in q.values())
    head = _HEAD.pack(MAGIC, FORMAT, h - 1, w - 1, a.channels, a.grids, a.width, a.arm, a.arm_layers, a.convs, coder)
    return seal(head + table + _LEN.pack(len(net)) + net + encode_latents(model, q, latents))


def read(data: bytes, name: str = "the file") -> tuple[LatentImage, fixed.Quantized, list[torch.Tensor]]:
    """The bytes of a version-2 .sirz file -> (model (its float weights unused), quantized network, integer
    latents); one-line SirenErrors for a damaged file."""
    body = opened(data, name, _HEAD.size)
    _, _, h, w, channels, count, width, arm, arm_layers, convs, coder = _HEAD.unpack_from(body)
    if channels not in (1, 3) or not 1 <= count <= 16 or coder >= len(entropy.CODERS) or min(width, arm) < 1:
        raise SirenError(f"{name}: the .sirz header is malformed (the file is damaged)")
    model = LatentImage(Arch(count, width, arm, arm_layers, convs, channels), (h + 1, w + 1))
    names = fixed.parameters(model)
    at = _HEAD.size + len(names)
    if len(body) < at + _LEN.size:
        raise SirenError(f"{name}: the .sirz payload is shorter than its network (the file is damaged)")
    ks, bits = [b >> 4 for b in body[_HEAD.size:at]], [(b & 15) + 1 for b in body[_HEAD.size:at]]
    (n,) = _LEN.unpack_from(body, at)
    if min(bits) < 2 or len(body) < at + _LEN.size + n:
        raise SirenError(f"{name}: the .sirz payload does not match its network (the file is damaged)")
    state = model.state_dict()
    ints = entropy.decode(body[at + _LEN.size:at + _LEN.size + n], [state[k].numel() for k in names], bits,
                          entropy.CODERS[coder])
    q = {k: (torch.from_numpy(x).double().reshape(state[k].shape), s) for k, x, s in zip(names, ints, ks)}
    return model, q, decode_latents(model, q, body[at + _LEN.size + n:])


def decode(data: bytes, size: Callable[[tuple[int, int]], tuple[int, int]] | None = None,
           name: str = "the file") -> np.ndarray:
    """The bytes of a version-2 .sirz file -> (H, W, C) uint8 at the encoded size (exact), or at size((H, W)) by
    resampling the fixed-point features bilinearly (float64) before the synthesis."""
    model, q, latents = read(data, name)
    feats = fixed.features(latents, model.size)
    out = model.size if size is None else tuple(size(model.size))
    if out != model.size:
        feats = torch.floor(F.interpolate(feats[None], size=out, mode="bilinear", align_corners=False)[0])
    return fixed.pixels(model, q, feats)
