"""The .sirz container: one image stored as the quantized weights of a coordinate network.

Byte layout (integers little-endian), version 1:

    offset  size  field
    0       4     magic b"SIRZ"
    4       1     format version (VERSION)
    5       2     n = length of the header (uint16)
    7       n     header: compact UTF-8 JSON (see `Header`)
    7+n     3T    per tensor of the network's state_dict, in its order: step s (float16), bits b (uint8)
    7+n+3T  m     the coded integer symbols of every tensor, in order (`entropy`; the coder named in the header)
    7+n+3T+m 4    CRC-32 (zlib.crc32) of every byte before it

A reader checks, in order: the magic, the version (a newer one is refused, naming it), the length, the checksum.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass

from ..errors import SirenError

__all__ = ["MAGIC", "VERSION", "Header", "pack", "unpack", "overhead"]

MAGIC = b"SIRZ"
VERSION = 1
_FIXED = struct.Struct("<4sBH")     # magic, version, header length
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class Header:
    """What a decoder needs besides the payload.

    model: {"name": family, "options": build_model keywords} (in_features 2, out_features = channels);
    size: (H, W) of the encoded image; channels: C in {1, 3}; coder: "raw", "arith" or "lzma" (`entropy.CODERS`).
    A tensor of b bits holds symbols q in [-(2^(b-1)-1), 2^(b-1)-1], its weights w = q s."""
    model: dict
    size: tuple[int, int]
    channels: int
    coder: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Header:
        try:
            d = json.loads(raw.decode())
            return cls(model={"name": str(d["model"]["name"]), "options": dict(d["model"]["options"])},
                       size=(int(d["size"][0]), int(d["size"][1])), channels=int(d["channels"]),
                       coder=str(d["coder"]))
        except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
            raise SirenError("the .sirz header is malformed (the file is damaged)") from None


def overhead(header: Header) -> int:
    """Bytes of a file with this header besides its payload: fixed fields, header JSON, checksum."""
    return _FIXED.size + len(header.to_json()) + _CRC.size


def pack(header: Header, payload: bytes) -> bytes:
    """header + payload -> the bytes of a .sirz file."""
    raw = header.to_json()
    if len(raw) >= 1 << 16:
        raise SirenError("the .sirz header is too long (over 65535 bytes)")
    body = _FIXED.pack(MAGIC, VERSION, len(raw)) + raw + payload
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: bytes, name: str = "the file") -> tuple[Header, bytes]:
    """The bytes of a .sirz file -> (header, payload); a one-line SirenError for a file that is not one, is from a
    newer format version, or is truncated or corrupted (checksum)."""
    if len(data) < _FIXED.size or data[:4] != MAGIC:
        raise SirenError(f"{name} is not a .sirz file (no SIRZ magic at its start)")
    _, version, n = _FIXED.unpack_from(data)
    if version > VERSION:
        raise SirenError(f"{name}: format version {version} is newer than this library reads ({VERSION}) "
                         f"(upgrade siren)")
    if len(data) < _FIXED.size + n + _CRC.size:
        raise SirenError(f"{name} is truncated ({len(data)} bytes, its header alone needs "
                         f"{_FIXED.size + n + _CRC.size}); checksum cannot match")
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(data[:-_CRC.size]) != crc:
        raise SirenError(f"{name}: checksum mismatch (the file is truncated or corrupted)")
    header = Header.from_json(data[_FIXED.size:_FIXED.size + n])
    return header, data[_FIXED.size + n:-_CRC.size]
