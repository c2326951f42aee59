"""Images in .sirz files, two codecs:

- latent grids (`--method latent`, format 2; Cool-chic / C3): integer latent grids at H/2^i x W/2^i, a fixed upsampling,
  a small synthesis network and an entropy model over each latent's causal context, trained per image with the
  rate in the loss; decoded exactly in fixed point;
- a SIREN's weights (the default until the latent grids beat it, format 1; COIN): a small coordinate network fitted to the image, its weights quantized and
  entropy-coded; decoded at any resolution.

    format.py        the container (magic, version, CRC-32) and the format-1 JSON header
    laplace.py       the latents' discretised Laplace law: bits while training, integer tables for coding
    grids.py         grid shapes, upsampling, the latents' causal contexts
    latent.py        the latent-grid model (float32 for training; the same code runs in fixed point)
    fixed.py         exact fixed-point evaluation of that model
    latent_code.py   range coding of the latents in vectorised passes (constriction)
    latent_file.py   format 2: write, read, decode
    latent_encode.py the latent-grid encoder: training, rate targets, network quantization
    quantize.py      uniform per-tensor quantization, straight-through fake quantization (SIREN codec)
    entropy.py       lossless coding of integer symbols (raw bits, adaptive arithmetic, LZMA)
    encode.py        the SIREN encoder: width by budget, fit, QAT, coder choice
    decode.py        bytes -> pixels for either format
    methods.py       one `compress` for both codecs

`compress(img, bpp=...)` -> `Encoded` (or `LatentEncoded` with a `LatentConfig`; .data are the file's bytes);
`decompress(data, size=None)` -> pixels.
"""
from .decode import decompress, load_network, render
from .encode import Encoded, EncoderConfig
from .format import VERSION, Header, pack, unpack
from .latent_encode import PRESETS, LatentConfig, LatentEncoded
from .methods import compress

__all__ = ["compress", "decompress", "Encoded", "EncoderConfig", "LatentConfig", "LatentEncoded", "PRESETS",
           "Header", "VERSION", "pack", "unpack", "load_network", "render"]
