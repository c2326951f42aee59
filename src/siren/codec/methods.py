"""One `compress` for both codecs: the config's type picks the method (`decode.decompress` reads either file)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import encode
from .latent_encode import LatentConfig, LatentEncoded, compress_latent

__all__ = ["compress"]


def compress(img: np.ndarray, bpp: float | None = None, psnr: float | None = None,
             config: LatentConfig | encode.EncoderConfig | None = None,
             log: Callable[[str], None] | None = None,
             progress: Callable[[int, int], None] | None = None) -> LatentEncoded | encode.Encoded:
    """An (H, W, C) image in [0, 1] -> its .sirz file: latent grids (format 2, `latent_encode.compress_latent`)
    for a LatentConfig or None (the default), a SIREN's weights (format 1, `encode.compress`) for an
    EncoderConfig. `progress(done, expected)` follows the latent encoder's training steps (`compress_latent`)."""
    if isinstance(config, encode.EncoderConfig):
        return encode.compress(img, bpp=bpp, psnr=psnr, config=config, log=log)
    return compress_latent(img, bpp=bpp, psnr=psnr, config=config or LatentConfig(), log=log, progress=progress)
