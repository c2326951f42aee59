"""Format version 1: a SIREN's weights (the `encode` module writes them) -> the network -> pixels at any
resolution, rendered in float32 on the CPU."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data.grid import grid
from ..diff.gemm import full_float32
from ..errors import SirenError
from ..metrics import to_unit
from ..models import build_model
from . import entropy
from .format import Header
from .quantize import dequantize

__all__ = ["TABLE", "build_network", "tensor_sizes", "load_network", "render"]

CHUNK = 1 << 16     # pixels per forward pass
TABLE = np.dtype([("step", "<f2"), ("bits", "u1")])     # one entry per tensor


def build_network(header: Header) -> nn.Module:
    """The untrained network of a header: build_model(name, 2, channels, **options) on the CPU."""
    try:
        return build_model(header.model["name"], 2, header.channels, **header.model["options"])
    except (ValueError, TypeError) as e:
        raise SirenError(f"the .sirz header names a network this library cannot build ({e})") from None


def tensor_sizes(model: nn.Module) -> list[int]:
    """Symbols per state_dict tensor (a complex tensor counts its real and imaginary parts)."""
    return [t.numel() * (2 if t.is_complex() else 1) for t in model.state_dict().values()]


def load_network(header: Header, payload: bytes) -> nn.Module:
    """The network with the dequantized weights w = q s of a payload: (step s float16, bits uint8) per tensor,
    then the coded symbols of all tensors, in state_dict order (`format`)."""
    model = build_network(header)
    state = model.state_dict()
    sizes = tensor_sizes(model)
    if len(payload) < 3 * len(sizes):
        raise SirenError("the .sirz payload is shorter than its network (the file is damaged)")
    table = np.frombuffer(payload[:3 * len(sizes)], dtype=TABLE)
    if not ((table["bits"] >= 2) & (table["bits"] <= 16)).all():
        raise SirenError("the .sirz payload does not match its network (the file is damaged)")
    bits = [int(b) for b in table["bits"]]
    q = entropy.decode(payload[3 * len(sizes):], sizes, bits, header.coder)
    model.load_state_dict({name: dequantize(torch.from_numpy(x), float(step), like)
                           for (name, like), x, step in zip(state.items(), q, table["step"].astype(np.float64))})
    return model.eval()


@torch.no_grad()
def render(model: nn.Module, size: tuple[int, int]) -> np.ndarray:
    """The network on the (H, W) grid of [-1, 1]^2 -> (H, W, C) uint8: round(255 clip((y + 1) / 2))."""
    coords = grid(size)
    with full_float32():
        out = torch.cat([model(coords[i:i + CHUNK]) for i in range(0, coords.shape[0], CHUNK)])
    pixels = torch.floor(to_unit(out) * 255.0 + 0.5).to(torch.uint8)
    return pixels.reshape(*size, -1).numpy()
