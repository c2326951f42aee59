"""A .sirz file (either format version) -> pixels at its own or any other resolution: version 1 (a SIREN's
weights) in `siren_file` (PyTorch, imported only for such a file), version 2 (latent grids, exact fixed point) in
`latent_file` (NumPy only)."""
from __future__ import annotations

import numpy as np

from ..errors import SirenError
from . import latent_file
from .format import unpack, version

__all__ = ["output_size", "decompress"]


def output_size(encoded: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(H, W) of a render: the encoded (H, W), or the longer side `size` with the aspect ratio kept."""
    if size is None:
        return tuple(encoded)
    if size < 1:
        raise SirenError(f"must be at least 1, got {size}", field="size")
    h, w = encoded
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def decompress(data: bytes, size: int | None = None, name: str = "the file") -> np.ndarray:
    """The bytes of a .sirz file (either version) -> (H, W, C) uint8 pixels, at the encoded size or with the longer
    side `size`."""
    if version(data, name) >= 2:
        return latent_file.decode(data, lambda hw: output_size(hw, size), name)
    from .siren_file import load_network, render
    header, payload = unpack(data, name)
    return render(load_network(header, payload), output_size(header.size, size))
