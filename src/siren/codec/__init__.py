"""Images in .sirz files, two codecs:

- latent grids (the default, format 2; Cool-chic / C3): integer latent grids at H/2^i x W/2^i, a fixed
  upsampling, a small synthesis network and an entropy model over each latent's causal context, trained per image
  with the rate in the loss; decoded exactly in fixed point, without PyTorch;
- a SIREN's weights (`--method siren`, format 1; COIN, kept for comparison): a small coordinate network fitted to
  the image, its weights quantized and entropy-coded; decoded at any resolution.

    format.py        the container (magic, version, CRC-32) and the format-1 JSON header
    laplace.py       the latents' discretised Laplace law: bits while training, integer tables for coding
    layout.py        the model's shape, grid shapes and doubling, the context scheme, one phase's contexts (NumPy)
    grids.py         upsampling and every latent's context in PyTorch (training)
    latent.py        the latent-grid model in float32 (training)
    exact.py         its exact fixed-point evaluation (NumPy)
    latent_code.py   range coding of the latents in vectorised passes (constriction)
    latent_file.py   format 2: write, read, decode
    latent_encode.py the latent-grid encoder: training, rate targets, network quantization
    quantize.py      uniform per-tensor quantization, straight-through fake quantization (SIREN codec)
    entropy.py       lossless coding of integer symbols (raw bits, adaptive arithmetic, LZMA)
    encode.py        the SIREN encoder: width by budget, fit, QAT, coder choice
    siren_file.py    format 1: the SIREN's weights back to a network, rendered
    decode.py        bytes -> pixels for either format
    methods.py       one `compress` for both codecs

`compress(img, bpp=...)` -> `LatentEncoded` (or `Encoded` with an `EncoderConfig`; .data are the file's bytes);
`decompress(data, size=None)` -> pixels. `decompress` of a format-2 file imports no PyTorch (the encoders and
format 1's renderer are imported on first use).
"""
import importlib

from .decode import decompress
from .format import VERSION, Header, pack, unpack

__all__ = ["compress", "decompress", "Encoded", "EncoderConfig", "LatentConfig", "LatentEncoded", "PRESETS",
           "Header", "VERSION", "pack", "unpack", "load_network", "render"]

_LAZY = {"compress": ".methods", "Encoded": ".encode", "EncoderConfig": ".encode", "LatentConfig": ".latent_encode",
         "LatentEncoded": ".latent_encode", "PRESETS": ".latent_encode", "load_network": ".siren_file",
         "render": ".siren_file"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
