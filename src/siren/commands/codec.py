"""`siren compress` and `siren decompress`: an image <-> a .sirz file (latent grids and small networks by default, or
a SIREN's weights with --method siren; see `siren.codec`)."""
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
    method: str = option("latent", "latent: latent grids with a learned entropy model (Cool-chic / C3); siren: a "
                         "SIREN's quantized weights (COIN, for comparison)", choices=("latent", "siren"))
    bpp: float | None = option(None, "rate in bits per pixel of the whole file (latent: aimed at; siren: at most "
                               "bpp H W / 8 bytes)")
    psnr: float | None = option(None, "instead of --bpp: the PSNR to reach (dB)")
    lmbda: float | None = option(None, "latent, instead of --bpp or --psnr: the rate weight lambda of MSE + lambda "
                                 "bpp")
    effort: str | None = option(None, "latent: the preset of training steps, trading encoding time for quality "
                                "(default medium)", choices=("fast", "medium", "slow"), flag="--preset")
    size: int | None = option(None, "resize first so the longer side has this many pixels")
    model: str | None = option(None, "siren: network family (any coordinate family with a hidden width: siren, "
                               "finer, gauss, wire, ...; default siren)")
    hidden_layers: int | None = option(None, "siren: hidden layers after the first (default 3)")
    bits: int | None = option(None, "siren: design bits per weight (default 6): the width is sized for it; each "
                              "tensor then gets its own bits (4..16) by sensitivity")
    steps: int | None = option(None, "training steps (latent: the preset's soft-rounding steps; siren: 2000)")
    qat_steps: int | None = option(None, "steps with the quantization in the loop (latent: straight-through "
                                   "steps after the others, none by default; siren: 300)")
    candidates: int | None = option(None, "latent: models whose first steps run from different seeds, the best "
                                    "going on (default 1)")
    time_limit: float | None = option(None, "latent: no retry of the rate search that would end past this many "
                                      "seconds from the start (default 600)")
    seed: int = option(0, "random seed")
    quiet: bool = option(False, "no progress lines")


def _siren_config(c: CompressConfig):
    from ..codec import EncoderConfig
    for flag, value in (("--lmbda", c.lmbda), ("--preset", c.effort), ("--candidates", c.candidates),
                        ("--time-limit", c.time_limit)):
        if value is not None:
            raise SirenError(f"{flag} belongs to --method latent (the SIREN codec takes --steps and --qat-steps)")
    given = {k: v for k, v in (("model", c.model), ("hidden_layers", c.hidden_layers), ("bits", c.bits),
                               ("steps", c.steps), ("qat_steps", c.qat_steps)) if v is not None}
    return EncoderConfig(**given, seed=c.seed)


def _latent_config(c: CompressConfig):
    from ..codec import LatentConfig
    for name in ("model", "hidden_layers", "bits"):
        if getattr(c, name) is not None:
            raise SirenError(f"--{name.replace('_', '-')} belongs to --method siren (the latent-grid codec sizes "
                             f"its networks itself)")
    return LatentConfig(preset=c.effort or "medium", steps=c.steps, qat_steps=c.qat_steps, candidates=c.candidates,
                        lmbda=c.lmbda, seed=c.seed,
                        **({} if c.time_limit is None else {"time_limit": c.time_limit}))


@command("compress", "store an image in a .sirz file: latent grids with a learned entropy model (default) or a "
         "SIREN's quantized weights (--method siren)", CompressConfig)
def _compress(c: CompressConfig) -> str:
    """On a terminal a progress bar over the training steps (latent grids) with the log lines above it; elsewhere
    the log lines alone (none with --quiet). The output is checked before any work."""
    from ..codec import compress
    from ..data.image import image_or_demo, resize_image
    from ..runtime import require_writable
    out = require_writable(c.out, folder=False)
    cfg = _siren_config(c) if c.method == "siren" else _latent_config(c)
    img = resize_image(image_or_demo(c.image), c.size)
    bar = log = progress = None
    if not c.quiet:
        log = lambda s: print(s, file=sys.stderr, flush=True)   # noqa: E731
        if c.method == "latent" and sys.stderr.isatty():
            from tqdm.auto import tqdm
            bar = tqdm(unit="step", dynamic_ncols=True, file=sys.stderr)
            log = lambda s: bar.write(s, file=sys.stderr)        # noqa: E731

            def progress(done: int, expected: int) -> None:
                bar.total = expected
                bar.update(done - bar.n)
    try:
        enc = compress(img, bpp=c.bpp, psnr=c.psnr, config=cfg, log=log, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(enc.data)
    h, w = enc.image.shape[:2]
    if c.method == "siren":
        detail = (f"{enc.header.model['name']} width {enc.header.model['options'].get('hidden_features')}, "
                  f"{8 * len(enc.data) / enc.params:.2f} bits per weight, {enc.header.coder} coder")
    else:
        detail = (f"{enc.arch.grids} latent grids, {enc.params} network weights in {enc.network_bytes} bytes, "
                  f"lambda {enc.lmbda:.3g}")
    return (f"wrote {out}: {len(enc.data)} bytes, {enc.bpp:.3f} bpp, PSNR {enc.psnr:.2f} dB ({w}x{h}, {detail}, "
            f"{enc.seconds:.1f} s)")


@dataclass
class DecompressConfig:
    file: str = option(None, "the .sirz file", positional=True, required=True)
    out: str = option(None, "the PNG to write", required=True)
    size: int | None = option(None, "render with this many pixels along the longer side (default: as encoded)")


@command("decompress", "decode a .sirz file to a PNG, at its own or any other resolution", DecompressConfig)
def _decompress(c: DecompressConfig) -> str:
    from PIL import Image

    from ..codec import decompress
    path = Path(c.file)
    if not path.is_file():
        raise SirenError(f"file not found: {path} (check the path)")
    pixels = decompress(path.read_bytes(), c.size, name=str(path))
    out = Path(c.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(out, format="PNG", compress_level=1)
    return f"wrote {out} ({pixels.shape[1]}x{pixels.shape[0]})"
