"""Images as networks (COIN-style): fit a small coordinate network to one image, store its weights quantized and
entropy-coded in a .sirz file, decode at any resolution.

    format.py    the container: magic, version, JSON header (network spec, image size, bits, coder), CRC-32
    quantize.py  uniform per-tensor quantization, straight-through fake quantization for QAT
    entropy.py   lossless coding of the integer symbols (raw bits, adaptive arithmetic, LZMA)
    encode.py    image -> bytes within a budget: width by budget, fit, QAT, coder choice
    decode.py    bytes -> network -> (H, W, C) uint8 pixels, deterministic float32 on the CPU

`compress(img, bpp=...)` -> `Encoded` (its .data are the file's bytes); `decompress(data, size=None)` -> pixels.
"""
from .decode import decompress, load_network, render
from .encode import Encoded, EncoderConfig, compress
from .format import VERSION, Header, pack, unpack

__all__ = ["compress", "decompress", "Encoded", "EncoderConfig", "Header", "VERSION", "pack", "unpack",
           "load_network", "render"]
