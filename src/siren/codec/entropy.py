"""Lossless coding of the integer symbols q in [-L, L] (L = 2^(b-1) - 1) of the quantized weight tensors.

Three coders, one name each in the file header; the encoder keeps the shortest:
    "raw"    b bits per symbol of each tensor, most significant bit first (the bound every file can fall back on)
    "arith"  adaptive arithmetic coding (32-bit integer coder, Witten-Neal-Cleary with underflow bits): one
             frequency table over the 2L + 1 symbols, all counts 1 at the start, +INCREMENT per symbol coded,
             halved when the total exceeds MAX_TOTAL; cost about -sum log2 p(q) bits plus the learning of the table
    "lzma"   the standard library's LZMA2 (raw stream, no container) on the symbols as bytes (uint16 when a
             tensor has b > 8)
Each tensor has its own b (2..16); "arith" codes tensors of b <= ADAPTIVE_BITS with one adaptive table per b and
wider ones with uniform frequencies. Decoding needs each tensor's size (from the network's shapes) and b. Integer
arithmetic only: the same bytes decode to the same symbols on every platform.
"""
from __future__ import annotations

import bisect
import itertools
import lzma

import numpy as np

from ..errors import SirenError

__all__ = ["CODERS", "levels", "encode", "decode", "best"]

INCREMENT, MAX_TOTAL = 24, 1 << 16
_BITS = 32
_FULL, _HALF, _QUARTER = 1 << _BITS, 1 << (_BITS - 1), 1 << (_BITS - 2)
_MASK = _FULL - 1
_LZMA = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def levels(bits: int) -> int:
    """L = 2^(bits-1) - 1: symbols run over [-L, L]."""
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be in 2..16, got {bits}")
    return 2 ** (bits - 1) - 1


class _Model:
    """Adaptive frequencies over k symbols."""

    def __init__(self, k: int):
        self.freq = [1] * k
        self.total = self.size = k

    def cumulative(self, s: int) -> tuple[int, int]:
        lo = sum(self.freq[:s])
        return lo, lo + self.freq[s]

    def find(self, value: int) -> int:
        """The symbol s with cum(s) <= value < cum(s + 1)."""
        return bisect.bisect_right(list(itertools.accumulate(self.freq)), value)

    def update(self, s: int) -> None:
        self.freq[s] += INCREMENT
        self.total += INCREMENT
        if self.total > MAX_TOTAL:
            self.freq = [(f + 1) // 2 for f in self.freq]
            self.total = sum(self.freq)


class _Uniform:
    """Fixed equal frequencies over k symbols (k <= MAX_TOTAL)."""

    def __init__(self, k: int):
        self.total = self.size = k

    def cumulative(self, s: int) -> tuple[int, int]:
        return s, s + 1

    def find(self, value: int) -> int:
        return value

    def update(self, s: int) -> None:
        pass


def _arith_encode(tensors: list[np.ndarray], models: list) -> bytes:
    low, high, pending, bits = 0, _MASK, 0, []
    for s, model in ((s, m) for x, m in zip(tensors, models) for s in x.tolist()):
        span, (a, b) = high - low + 1, model.cumulative(s)
        low, high = low + a * span // model.total, low + b * span // model.total - 1
        model.update(s)
        while True:
            if not (low ^ high) & _HALF:                  # same top bit: emit it and the pending opposites
                top = low >> (_BITS - 1)
                bits.append(top)
                bits.extend([1 - top] * pending)
                pending = 0
                low, high = (low << 1) & _MASK, ((high << 1) & _MASK) | 1
            elif low & ~high & _QUARTER:                  # straddling the middle: defer a bit
                pending += 1
                low, high = (low << 1) ^ _HALF, ((high ^ _HALF) << 1) | _HALF | 1
            else:
                break
    bits.extend([1] + [0] * pending)                  # 1 then zeros: inside [low, high] once zeros are read on
    return np.packbits(np.array(bits, dtype=np.uint8)).tobytes()


def _arith_decode(data: bytes, sizes: list[int], models: list) -> list[np.ndarray]:
    stream = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist()
    stream_len = len(stream)
    pos = min(_BITS, stream_len)
    code = int("".join(map(str, stream[:pos])) or "0", 2) << (_BITS - pos)
    pos = _BITS
    low, high, out = 0, _MASK, []

    def bit() -> int:
        nonlocal pos
        pos += 1
        return stream[pos - 1] if pos - 1 < stream_len else 0

    for model in (m for n, m in zip(sizes, models) for _ in range(n)):
        span = high - low + 1
        s = model.find(((code - low + 1) * model.total - 1) // span)
        if s >= model.size:
            raise SirenError("the .sirz payload does not decode (the file is damaged)")
        a, b = model.cumulative(s)
        low, high = low + a * span // model.total, low + b * span // model.total - 1
        model.update(s)
        out.append(s)
        while True:
            if not (low ^ high) & _HALF:
                low, high, code = (low << 1) & _MASK, ((high << 1) & _MASK) | 1, ((code << 1) & _MASK) | bit()
            elif low & ~high & _QUARTER:
                low, high = (low << 1) ^ _HALF, ((high ^ _HALF) << 1) | _HALF | 1
                code = (code & _HALF) | ((code << 1) & (_MASK >> 1)) | bit()
            else:
                break
    return np.split(np.array(out, dtype=np.int64), np.cumsum(sizes)[:-1])


CODERS = ("raw", "arith", "lzma")
ADAPTIVE_BITS = 8       # arith: tensors of more bits are coded with uniform frequencies


def _models(bits: list[int]) -> list:
    """arith: one adaptive model per distinct bits <= ADAPTIVE_BITS, shared by the tensors of those bits."""
    shared = {b: _Model(2 * levels(b) + 1) for b in sorted(set(bits)) if b <= ADAPTIVE_BITS}
    return [shared[b] if b in shared else _Uniform(2 * levels(b) + 1) for b in bits]


def encode(tensors: list[np.ndarray], bits: list[int], coder: str) -> bytes:
    """The symbols of each tensor (int, any shape, in [-L_b, L_b] for its bits b) -> bytes, with the coder named
    (`CODERS`); the tensors are coded in order."""
    u = [np.asarray(q, dtype=np.int64).ravel() + levels(b) for q, b in zip(tensors, bits)]      # 0 .. 2L
    if coder == "raw":
        planes = [(x[:, None] >> np.arange(b - 1, -1, -1)) & 1 for x, b in zip(u, bits)]
        return np.packbits(np.concatenate([p.astype(np.uint8).ravel() for p in planes])).tobytes()
    if coder == "arith":
        return _arith_encode(u, _models(bits))
    if coder == "lzma":
        flat = np.concatenate(u).astype(np.uint8 if max(bits) <= 8 else "<u2")
        return lzma.compress(flat.tobytes(), format=lzma.FORMAT_RAW, filters=_LZMA)
    raise ValueError(f"unknown coder {coder!r} (choose from {', '.join(CODERS)})")


def decode(data: bytes, sizes: list[int], bits: list[int], coder: str) -> list[np.ndarray]:
    """bytes -> the symbols (int64, in [-L_b, L_b]) of tensors of `sizes` entries and `bits`, as `encode` coded
    them; a SirenError when they cannot be read."""
    if coder == "raw":
        stream = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        if stream.size < sum(n * b for n, b in zip(sizes, bits)):
            raise SirenError("the .sirz payload is shorter than its network (the file is damaged)")
        out, at = [], 0
        for n, b in zip(sizes, bits):
            planes = stream[at:at + n * b].reshape(n, b).astype(np.int64)
            out.append(planes @ (1 << np.arange(b - 1, -1, -1)))
            at += n * b
    elif coder == "arith":
        out = _arith_decode(data, sizes, _models(bits))
    elif coder == "lzma":
        try:
            raw = lzma.decompress(data, format=lzma.FORMAT_RAW, filters=_LZMA)
        except lzma.LZMAError:
            raise SirenError("the .sirz payload does not decode (the file is damaged)") from None
        flat = np.frombuffer(raw, dtype=np.uint8 if max(bits) <= 8 else "<u2").astype(np.int64)
        if flat.size != sum(sizes):
            raise SirenError("the .sirz payload does not match its network (the file is damaged)")
        out = np.split(flat, np.cumsum(sizes)[:-1])
    else:
        raise SirenError(f"unknown coder {coder!r} in the .sirz header (the file is damaged or from another "
                         f"version)")
    return [x - levels(b) for x, b in zip(out, bits)]


def best(tensors: list[np.ndarray], bits: list[int]) -> tuple[str, bytes]:
    """(coder, bytes) of the shortest coding of the tensors' symbols."""
    return min(((c, encode(tensors, bits, c)) for c in CODERS), key=lambda cb: len(cb[1]))
