"""Image -> .sirz bytes within a budget: pick the width, fit, allocate bits per tensor, QAT, entropy coding.

For a budget of B bytes (B = floor(bpp H W / 8)) and a design precision of b bits per weight:
  1. width: the largest hidden width whose network (2 -> C, family and depth given) has n weights with
     overhead + 3 T + n (b - SAVED_BITS) / 8 <= B (T tensors; `format.overhead`);
  2. fit: Adam on the MSE of the [-1, 1] image over a random quarter of the pixels per step, learning rate
     cosine-decayed to 0;
  3. bits per tensor (`allocate`): the distortion of quantizing tensor t alone at b_t bits is modelled as
     D_t(b_t) = D_t(PROBE_BITS) 4^(PROBE_BITS - b_t) (measured once per tensor), and bits go greedily to the
     tensor of largest D_t(b_t) (1 - 1/4) / n_t until the coded file fills B (water-filling: the first layer and the
     biases, few weights whose error is amplified by omega_0, get many bits; the hidden matrices few);
  4. QAT: Adam on the network whose forward pass uses the quantized weights (steps fixed, straight-through
     gradient); the file is the better (decoded PSNR) of the quantized network before and after it; while it is
     over B, a smaller total and another pass;
  5. the file: the shortest of the coders (`entropy.best`); the reported reconstruction is `decode.decompress`
     of those bytes, so a decoder reproduces it exactly.
With a PSNR target instead, the rates RATES are tried in turn until the reconstruction reaches it.
"""
from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..data.grid import grid
from ..errors import SirenError
from ..metrics import psnr as psnr_of
from ..models import build_model
from . import entropy
from .decode import decompress
from .siren_file import TABLE, tensor_sizes
from .format import Header, overhead, pack, unpack
from .quantize import dequantize, fake_quantize, quantize, step_for

__all__ = ["Encoded", "EncoderConfig", "compress", "encode_network", "choose_width", "allocate"]

SAVED_BITS = 0.3
MIN_BITS, MAX_BITS = 4, 16          # per tensor (the 4^-b model of `allocate` fails below 4)
PROBE_BITS = 6
RATES = (0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


@dataclass
class EncoderConfig:
    """The encoder's knobs. model: a coordinate family of `build_model` taking hidden_features; hidden_layers;
    bits: the design precision b (the width is sized for it; each tensor gets its own bits); steps: float fit;
    qat_steps: per quantization-aware pass; lr, qat_lr: Adam's initial rates (cosine to 0); batch: the fraction
    of the pixels drawn per step; seed: the init and the draws."""
    model: str = "siren"
    hidden_layers: int = 3
    bits: int = 6
    steps: int = 2000
    qat_steps: int = 300
    lr: float = 2e-3
    qat_lr: float = 5e-5
    batch: float = 0.25
    seed: int = 0


@dataclass
class Encoded:
    """A compressed image: data (the .sirz bytes), image (the reconstruction, (H, W, C) uint8, what `decompress`
    returns), header, bits (per tensor), psnr (dB, of image / 255 against the input), bpp = 8 len(data) / (H W),
    seconds (encode wall time), params (weights stored), float_psnr (dB, the network before quantization)."""
    data: bytes
    image: np.ndarray
    header: Header
    bits: list[int]
    psnr: float
    bpp: float
    seconds: float
    params: int
    float_psnr: float


def _header(cfg: EncoderConfig, width: int, size, channels: int, coder: str = "arith") -> Header:
    return Header({"name": cfg.model, "options": {"hidden_features": width, "hidden_layers": cfg.hidden_layers}},
                  tuple(size), channels, coder)


def _network(cfg: EncoderConfig, width: int, channels: int) -> nn.Module:
    try:
        return build_model(cfg.model, 2, channels, hidden_features=width, hidden_layers=cfg.hidden_layers)
    except (ValueError, TypeError) as e:
        raise SirenError(f"cannot build the network: {e}") from None


def choose_width(cfg: EncoderConfig, size, channels: int, budget: int) -> int:
    """The largest hidden width (1..1024) whose estimated file fits `budget` bytes (module docstring, step 1);
    a SirenError when even width 1 does not."""
    def estimate(w: int) -> float:
        sizes = tensor_sizes(_network(cfg, w, channels))
        return overhead(_header(cfg, w, size, channels)) + TABLE.itemsize * len(sizes) + \
            sum(sizes) * (cfg.bits - SAVED_BITS) / 8
    if estimate(1) > budget:
        raise SirenError(f"a budget of {budget} bytes is below the smallest {cfg.model} file (about "
                         f"{math.ceil(estimate(1))} bytes; raise --bpp)")
    lo, hi = 1, 1024
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if estimate(mid) <= budget else (lo, mid - 1)
    return lo


def encode_network(model: nn.Module, header: Header, bits: dict, steps: dict | None = None) -> bytes:
    """The .sirz bytes of `model` with `bits` per state_dict tensor (steps as given, else `step_for`), with the
    shortest coder (the header's coder is replaced)."""
    state = model.state_dict()
    steps = steps or {k: step_for(v, bits[k]) for k, v in state.items()}
    q = [quantize(v, steps[k], bits[k]).numpy().ravel() for k, v in state.items()]
    coder, coded = entropy.best(q, [bits[k] for k in state])
    table = np.array([(steps[k], bits[k]) for k in state], dtype=TABLE).tobytes()
    return pack(Header(header.model, header.size, header.channels, coder), table + coded)


@torch.no_grad()
def _mse(model: nn.Module, coords: torch.Tensor, target: torch.Tensor, state: dict | None = None) -> float:
    out = model(coords) if state is None else functional_call(model, state, (coords,))
    return float(torch.mean((out.clamp(-1, 1) - target) ** 2))


def _probe(model: nn.Module, coords: torch.Tensor, target: torch.Tensor) -> dict:
    """D_t(PROBE_BITS): the MSE increase of quantizing tensor t alone at PROBE_BITS bits (floored above 0)."""
    state = {k: v.detach() for k, v in model.state_dict().items()}
    base, out = _mse(model, coords, target), {}
    for k, v in state.items():
        s = step_for(v, PROBE_BITS)
        out[k] = max(_mse(model, coords, target, {**state, k: dequantize(quantize(v, s, PROBE_BITS), s, v)}) - base,
                     1e-12 * base + 1e-20)
    return out


def allocate(sensitivity: dict, sizes: dict, total_bits: float) -> dict:
    """Bits per tensor (MIN_BITS..MAX_BITS) minimizing sum_t D_t(b_t), D_t(b) = sensitivity_t 4^(PROBE_BITS - b),
    subject to sum_t n_t b_t <= total_bits: greedy on the gain per bit 3/4 D_t(b_t) / n_t (exact for this
    convex model)."""
    bits = {k: MIN_BITS for k in sizes}
    spent = MIN_BITS * sum(sizes.values())

    def gain(k):
        return -0.75 * sensitivity[k] * 4.0 ** (PROBE_BITS - bits[k]) / sizes[k]
    heap = [(gain(k), k) for k in sizes]
    heapq.heapify(heap)
    while heap:
        _, k = heapq.heappop(heap)
        if spent + sizes[k] > total_bits:
            continue
        bits[k] += 1
        spent += sizes[k]
        if bits[k] < MAX_BITS:
            heapq.heappush(heap, (gain(k), k))
    return bits


def _fit(model: nn.Module, coords: torch.Tensor, target: torch.Tensor, steps: int, lr: float, batch: float,
         generator: torch.Generator, quant: tuple[dict, dict] | None = None) -> None:
    """Adam on mean((model(x) - y)^2) over a random `batch` fraction of the pixels per step (drawn with
    `generator`), lr cosine-decayed from `lr` to 0; quant = (steps, bits) per tensor: the forward pass uses the
    fake-quantized weights (QAT)."""
    params = dict(model.named_parameters())
    opt = torch.optim.Adam(params.values(), lr=lr)
    n = coords.shape[0]
    take = min(n, max(1, round(batch * n)))
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * i / steps))
        idx = slice(None) if take == n else torch.randint(0, n, (take,), generator=generator)
        x, y = coords[idx], target[idx]
        if quant is None:
            out = model(x)
        else:
            qsteps, bits = quant
            out = functional_call(model, {k: fake_quantize(p, qsteps[k], bits[k]) for k, p in params.items()},
                                  (x,))
        loss = torch.mean((out - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _fill(model, header, sensitivity, sizes, budget) -> tuple[dict, int]:
    """The allocation whose coded file is the largest within `budget` bytes, found by rescaling the raw bit
    total by the coded/raw ratio (a few codings, no training); (bits, file bytes)."""
    room = budget - overhead(header) - TABLE.itemsize * len(sizes)
    total, best = 8.0 * room, None
    for _ in range(6):
        bits = allocate(sensitivity, sizes, total)
        n = len(encode_network(model, header, bits))
        if n <= budget and (best is None or n > best[1]):
            best = (bits, n)
        coded = n - (budget - room)
        if coded <= 0 or (n <= budget and budget - n <= max(4, budget // 200)):
            break
        total *= room / coded
    if best is None:
        raise SirenError(f"cannot fit the image in {budget} bytes (raise --bpp)")
    return best


def _decoded_psnr(data: bytes, img: np.ndarray) -> float:
    return psnr_of(decompress(data).astype(np.float64) / 255.0, img)


def _at_budget(img: np.ndarray, budget: int, cfg: EncoderConfig, log: Callable[[str], None]) -> Encoded:
    start = time.perf_counter()
    h, w, c = img.shape
    width = choose_width(cfg, (h, w), c, budget)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = _network(cfg, width, c)
    header = _header(cfg, width, (h, w), c)
    coords, target = grid((h, w)), torch.from_numpy(2.0 * img - 1.0).float().reshape(-1, c)
    sizes = dict(zip(model.state_dict(), tensor_sizes(model)))
    log(f"width {width}, {sum(sizes.values())} weights; fitting {cfg.steps} steps")
    gen = torch.Generator().manual_seed(cfg.seed)
    _fit(model, coords, target, cfg.steps, cfg.lr, cfg.batch, gen)
    float_psnr = 10 * math.log10(4.0 / _mse(model, coords, target))
    margin = budget
    for _ in range(4):
        bits, _ = _fill(model, header, _probe(model, coords, target), sizes, margin)
        qsteps = {k: step_for(v, bits[k]) for k, v in model.state_dict().items()}
        mean_bits = sum(sizes[k] * bits[k] for k in sizes) / sum(sizes.values())
        log(f"quantization-aware fine-tuning, {cfg.qat_steps} steps, {mean_bits:.2f} bits per weight")
        plain = encode_network(model, header, bits, qsteps)
        _fit(model, coords, target, cfg.qat_steps, cfg.qat_lr, cfg.batch, gen, (qsteps, bits))
        data = min((encode_network(model, header, bits, qsteps), plain), key=lambda d: (len(d) > budget,
                                                                                       -_decoded_psnr(d, img)))
        if len(data) <= budget:
            break
        margin -= len(data) - budget + max(4, budget // 100)
    else:
        raise SirenError(f"cannot fit the image in {budget} bytes ({len(data)} after fine-tuning; raise --bpp)")
    recon = decompress(data)
    return Encoded(data, recon, unpack(data)[0], [bits[k] for k in sizes],
                   psnr_of(recon.astype(np.float64) / 255.0, img), 8 * len(data) / (h * w),
                   time.perf_counter() - start, sum(sizes.values()), float_psnr)


def compress(img: np.ndarray, bpp: float | None = None, psnr: float | None = None,
             config: EncoderConfig | None = None, log: Callable[[str], None] | None = None) -> Encoded:
    """An (H, W, C) image in [0, 1] (C in {1, 3}) -> the .sirz file of at most bpp H W / 8 bytes, or the
    smallest of the rates RATES whose reconstruction reaches `psnr` dB (exactly one of bpp, psnr)."""
    cfg, log = config or EncoderConfig(), log or (lambda s: None)
    if (bpp is None) == (psnr is None):
        raise SirenError("give --bpp or --psnr (one of them)")
    if not 2 <= cfg.bits <= 16:
        raise SirenError(f"must be in 2..16, got {cfg.bits}", field="bits")
    for name in ("steps", "qat_steps", "hidden_layers"):
        if getattr(cfg, name) < (0 if name == "hidden_layers" else 1):
            raise SirenError(f"must be at least {0 if name == 'hidden_layers' else 1}, got {getattr(cfg, name)}",
                             field=name)
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise SirenError(f"the image has shape {img.shape}, expected (H, W, 1) or (H, W, 3)")
    h, w, _ = img.shape
    if bpp is not None:
        if bpp <= 0:
            raise SirenError(f"must be positive, got {bpp}", field="bpp")
        return _at_budget(img, int(bpp * h * w / 8), cfg, log)
    spent, best = 0.0, None
    for rate in RATES:
        try:
            best = _at_budget(img, int(rate * h * w / 8), cfg, log)
        except SirenError:
            continue                        # a rate too small for any network: try the next one
        spent += best.seconds
        log(f"{rate} bpp: {best.psnr:.2f} dB")
        if best.psnr >= psnr:
            best.seconds = spent
            return best
    raise SirenError(f"no rate up to {RATES[-1]} bpp reaches {psnr} dB"
                     + (f" (best {best.psnr:.2f} dB; lower --psnr)" if best else " (lower --psnr)"))
