"""`siren compress` and `siren decompress`: an image <-> a .sirz file (its pixels stored as a network's weights;
see `siren.codec`)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import SirenError
from ..options import option
from . import command

__all__ = ["CompressConfig", "DecompressConfig"]


@dataclass
class CompressConfig:
    image: str = option(None, "image file (PNG, JPEG, ...) or a bundled demo name (cameraman, astronaut, ...)",
                        positional=True, required=True)
    out: str = option(None, "the .sirz file to write", required=True)
    bpp: float | None = option(None, "budget in bits per pixel: the whole file is at most bpp H W / 8 bytes")
    psnr: float | None = option(None, "instead of --bpp: the smallest tried rate whose PSNR reaches this (dB)")
    size: int | None = option(None, "resize first so the longer side has this many pixels")
    model: str = option("siren", "network family (any coordinate family with a hidden width: siren, finer, "
                        "gauss, wire, ...)")
    hidden_layers: int = option(3, "hidden layers after the first")
    bits: int = option(6, "design bits per weight: the width is sized for it; each tensor then gets its own bits "
                       "(4..16) by sensitivity")
    steps: int = option(2000, "fitting steps")
    qat_steps: int = option(300, "quantization-aware fine-tuning steps")
    seed: int = option(0, "random seed of the network's init")
    quiet: bool = option(False, "no progress lines")


@command("compress", "store an image as a small network's quantized, entropy-coded weights (.sirz)", CompressConfig)
def _compress(c: CompressConfig) -> str:
    from ..codec import EncoderConfig, compress
    from ..data.image import image_or_demo, resize_image
    cfg = EncoderConfig(model=c.model, hidden_layers=c.hidden_layers, bits=c.bits, steps=c.steps,
                        qat_steps=c.qat_steps, seed=c.seed)
    img = resize_image(image_or_demo(c.image), c.size)
    enc = compress(img, bpp=c.bpp, psnr=c.psnr, config=cfg,
                   log=None if c.quiet else lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(c.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(enc.data)
    h, w = enc.header.size
    return (f"wrote {out}: {len(enc.data)} bytes, {enc.bpp:.3f} bpp, PSNR {enc.psnr:.2f} dB ({w}x{h}, "
            f"{enc.header.model['name']} width {enc.header.model['options'].get('hidden_features')}, "
            f"{8 * len(enc.data) / enc.params:.2f} bits per weight, {enc.header.coder} coder, {enc.seconds:.1f} s)")


@dataclass
class DecompressConfig:
    file: str = option(None, "the .sirz file", positional=True, required=True)
    out: str = option(None, "the PNG to write", required=True)
    size: int | None = option(None, "render with this many pixels along the longer side (default: as encoded)")


@command("decompress", "decode a .sirz file to a PNG, at its own or any other resolution", DecompressConfig)
def _decompress(c: DecompressConfig) -> str:
    from ..codec import decompress
    from ..data.image import save_image
    path = Path(c.file)
    if not path.is_file():
        raise SirenError(f"file not found: {path} (check the path)")
    pixels = decompress(path.read_bytes(), c.size, name=str(path))
    out = Path(c.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(out, pixels / 255.0)
    return f"wrote {out} ({pixels.shape[1]}x{pixels.shape[0]})"
