"""Format version 2: a latent-grid image (`latent`, its entropy model over `layout.CHECKERBOARD` contexts) in a .sirz
file, and its exact decoding.

Byte layout (integers little-endian):

    offset  size  field
    0       4     magic b"SIRZ"
    4       1     format version (2)
    5       4     H - 1, W - 1 (uint16 each)
    9       6     channels, grids L, synthesis width, entropy-model width, its hidden layers, convolutions (uint8)
    15      1     the coder of the network's integers (index into `entropy.CODERS`)
    16      T     per network tensor (`layout.Arch.tensors` order): its step exponent k (high 4 bits; step 2^-k) and
                  its bits b - 1 (low 4 bits; symbols in [-(2^(b-1) - 1), 2^(b-1) - 1])
    16+T    2     n: bytes of the coded network
    18+T    n     the network's integers, coded (`entropy`)
    18+T+n  m     the latents, range-coded (`latent_code`)
    end-4   4     CRC-32 of every byte before it

Decoding: the network from its integers, the latents pass by pass, then the synthesis, all in fixed point
(`exact`, NumPy only): the same pixels as the encoder's reconstruction on every machine.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from ..errors import SirenError
from . import entropy, exact
from .format import MAGIC, opened, seal
from .latent_code import decode_latents, encode_latents
from .layout import Arch

__all__ = ["write", "read", "decode", "weight_bits", "overhead"]

FORMAT = 2
_HEAD = struct.Struct("<4sBHHBBBBBBB")
_LEN = struct.Struct("<H")


def weight_bits(q: np.ndarray) -> int:
    """The fewest bits b (2..16) whose symbols [-(2^(b-1) - 1), 2^(b-1) - 1] hold the integers q; 17 if none."""
    top = int(np.abs(q).max()) if q.size else 0
    return next((b for b in range(2, 17) if entropy.levels(b) >= top), 17)


def overhead(arch: Arch) -> int:
    """Bytes of a file besides the coded network and latents."""
    return _HEAD.size + len(arch.tensors()) + _LEN.size + 4


def code_network(q: exact.Quantized) -> tuple[int, bytes]:
    """The network's integers -> (coder index, bytes): the shortest `entropy` coding."""
    tensors = [x.astype(np.int64).ravel() for x, _ in q.values()]
    coder, data = entropy.best(tensors, [weight_bits(x) for x, _ in q.values()])
    return entropy.CODERS.index(coder), data


def write(arch: Arch, size: tuple[int, int], q: exact.Quantized, latents: list[np.ndarray]) -> bytes:
    """The .sirz bytes of an image of `size` (H, W): network `q` (every tensor's bits <= 16, in `Arch.tensors`
    order) and integer latents."""
    (h, w), a = size, arch
    coder, net = code_network(q)
    table = bytes((k << 4) | (weight_bits(x) - 1) for x, k in q.values())
    head = _HEAD.pack(MAGIC, FORMAT, h - 1, w - 1, a.channels, a.grids, a.width, a.arm, a.arm_layers, a.convs, coder)
    return seal(head + table + _LEN.pack(len(net)) + net + encode_latents(arch, q, latents))


def read(data: bytes, name: str = "the file") -> tuple[Arch, tuple[int, int], exact.Quantized, list[np.ndarray]]:
    """The bytes of a version-2 .sirz file -> (architecture, (H, W), quantized network, integer latents);
    one-line SirenErrors for a damaged file."""
    body = opened(data, name, _HEAD.size)
    _, _, h, w, channels, count, width, arm, arm_layers, convs, coder = _HEAD.unpack_from(body)
    if channels not in (1, 3) or not 1 <= count <= 16 or coder >= len(entropy.CODERS) or min(width, arm) < 1:
        raise SirenError(f"{name}: the .sirz header is malformed (the file is damaged)")
    arch, size = Arch(count, width, arm, arm_layers, convs, channels), (h + 1, w + 1)
    tensors = arch.tensors()
    at = _HEAD.size + len(tensors)
    if len(body) < at + _LEN.size:
        raise SirenError(f"{name}: the .sirz payload is shorter than its network (the file is damaged)")
    ks, bits = [b >> 4 for b in body[_HEAD.size:at]], [(b & 15) + 1 for b in body[_HEAD.size:at]]
    (n,) = _LEN.unpack_from(body, at)
    if min(bits) < 2 or len(body) < at + _LEN.size + n:
        raise SirenError(f"{name}: the .sirz payload does not match its network (the file is damaged)")
    ints = entropy.decode(body[at + _LEN.size:at + _LEN.size + n], [int(np.prod(s)) for _, s in tensors], bits,
                          entropy.CODERS[coder])
    q = {k: (x.astype(np.float64).reshape(s), step) for (k, s), x, step in zip(tensors, ints, ks)}
    return arch, size, q, decode_latents(arch, size, q, body[at + _LEN.size + n:])


def decode(data: bytes, size: Callable[[tuple[int, int]], tuple[int, int]] | None = None,
           name: str = "the file") -> np.ndarray:
    """The bytes of a version-2 .sirz file -> (H, W, C) uint8 at the encoded size (exact), or at size((H, W)) by
    resampling the fixed-point features bilinearly before the synthesis (`exact.resample`)."""
    arch, encoded, q, latents = read(data, name)
    feats = exact.features(latents, encoded)
    out = encoded if size is None else tuple(size(encoded))
    if out != encoded:
        feats = exact.resample(feats, out)
    return exact.pixels(arch, q, feats)
