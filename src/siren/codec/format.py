"""The .sirz container: magic, format version, body, CRC-32. Version 2 (`latent_file`, the latent-grid codec) has a
binary header; version 1 (the SIREN-weights codec, this module's `Header`) a JSON one:

Byte layout (integers little-endian), version 1:

    offset  size  field
    0       4     magic b"SIRZ"
    4       1     format version (1)
    5       2     n = length of the header (uint16)
    7       n     header: compact UTF-8 JSON (see `Header`)
    7+n     3T    per tensor of the network's state_dict, in its order: step s (float16), bits b (uint8)
    7+n+3T  m     the coded integer symbols of every tensor, in order (`entropy`; the coder named in the header)
    7+n+3T+m 4    CRC-32 (zlib.crc32) of every byte before it

A reader checks, in order: the magic, the version (a newer one is refused, naming it), the length, the checksum
(`opened`, for both versions).
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass

from ..errors import SirenError

__all__ = ["MAGIC", "VERSION", "Header", "pack", "unpack", "overhead", "version", "seal", "opened"]

MAGIC = b"SIRZ"
VERSION = 2                         # the newest version this library reads
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
    return seal(_FIXED.pack(MAGIC, 1, len(raw)) + raw + payload)


def seal(body: bytes) -> bytes:
    """body (magic and version first) -> body + its CRC-32."""
    return body + _CRC.pack(zlib.crc32(body))


def version(data: bytes, name: str = "the file") -> int:
    """The format version of a .sirz file; a one-line SirenError for a file that is not one or is newer."""
    if len(data) < 5 or data[:4] != MAGIC or data[4] == 0:
        raise SirenError(f"{name} is not a .sirz file (no SIRZ magic and version at its start)")
    if data[4] > VERSION:
        raise SirenError(f"{name}: format version {data[4]} is newer than this library reads ({VERSION}) "
                         f"(upgrade siren)")
    return data[4]


def opened(data: bytes, name: str, least: int) -> bytes:
    """The bytes of a .sirz file whose header needs `least` bytes -> those without the CRC; a one-line SirenError
    when it is truncated or its checksum does not match."""
    version(data, name)
    if len(data) < least + _CRC.size:
        raise SirenError(f"{name} is truncated ({len(data)} bytes, its header alone needs "
                         f"{least + _CRC.size}); checksum cannot match")
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(data[:-_CRC.size]) != crc:
        raise SirenError(f"{name}: checksum mismatch (the file is truncated or corrupted)")
    return data[:-_CRC.size]


def unpack(data: bytes, name: str = "the file") -> tuple[Header, bytes]:
    """The bytes of a version-1 .sirz file -> (header, payload); a one-line SirenError for a file that is not one,
    is from a newer format version, or is truncated or corrupted (checksum)."""
    if version(data, name) != 1:
        raise SirenError(f"{name} is a latent-grid .sirz file (format version {data[4]}), not a SIREN one")
    n = _FIXED.unpack_from(data)[2] if len(data) >= _FIXED.size else 0
    body = opened(data, name, _FIXED.size + n)
    return Header.from_json(body[_FIXED.size:_FIXED.size + n]), body[_FIXED.size + n:]
