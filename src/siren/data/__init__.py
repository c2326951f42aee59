"""Signals in and out: files <-> tensors, coordinate grids in [-1, 1]^d, samplers."""
from . import audio, grid, image, signal, video
from .signal import Signal

__all__ = ["Signal", "audio", "grid", "image", "signal", "video"]
