"""Image -> version-2 .sirz bytes: fit latent grids and networks to one image (Cool-chic / C3), quantize, code.

Training minimises  J = MSE(x, x^) + lambda R / (H W)  (x in [0, 1]; R the latents' bits under the entropy model,
`LatentImage.rate`), the networks with SOAP (`soap.Soap`: Adam in the eigenbasis of a Shampoo preconditioner, betas
NET_BETAS, decoupled weight decay NET_DECAY; Cool-chic 5's choice), the latents with Adam at LATENT_LR times the
learning rate, both cosine-decayed:
  0. with `candidates` > 1 (none in the presets), a warm-up: that many models (seeds seed, seed + 1, ...) each run
     the first min(WARM, steps / 4) steps of phase 1 (with its own lambda controller); the one with the lowest J
     on rounded latents (at the geometric mean of their lambdas) goes on;
  1. `steps` steps on soft-rounded, noisy latents soft_round(soft_round(y, T) + a u, T), u ~ U(-1/2, 1/2), T from
     TEMPERATURE[0] down to TEMPERATURE[1] (C3's soft rounding) and the noise amplitude a from 1 down to NOISE_END,
     linearly; the rate of grid 0 estimated from one random phase a step (`LatentImage.rate`);
  2. `qat_steps` steps (none in the presets) on rounded latents with a straight-through gradient, at lr / QAT_DIV.
With a bpp target lambda starts at 2e-3 (0.5 / bpp)^2 (else 2e-3).
Targets: with `lmbda` given, lambda is fixed; with a bpp or PSNR target, every CONTROL steps the rounded latents'
rate (plus the network's estimated bits; for a bpp target scaled, from RERUN of phase 1 on, by the ratio of one
trial coding's bits to that estimate) or PSNR is measured and log lambda moves towards the target (a
proportional controller), until the second half of phase 2; then a search on log lambda over the coded files
(`_next_lambda`), each try restarting from the state at RERUN of phase 1 with lambda fixed, until a file is
`_accepted` (at most RETRIES tries more, and none that would end past `time_limit` seconds from the start: a try
is expected to take as long as the last retry, or (1 - RERUN) of phase 1 plus one coding before the first).
Each coding first fits a copy's entropy model to the rounded latents (`_fit_entropy`: the bits they will be coded
with; training saw noisy, soft-rounded ones). Then each network tensor gets the step 2^-k (k in 0..15) minimising J
with the coded bits of its integers counted (coordinate search, `_steps`), the file is written and decoded
(`latent_file.decode`: the reconstruction the decoder will show).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import SirenError
from ..metrics import psnr as psnr_of
from . import entropy, exact, latent_file
from .laplace import bits as latent_bits
from .latent import Arch, LatentImage
from .soap import Soap

__all__ = ["PRESETS", "LatentConfig", "LatentEncoded", "compress_latent", "choose_arch", "MAX_PSNR"]

PRESETS = {"fast": (400, 0, 1), "medium": (1500, 0, 1), "slow": (5000, 0, 1)}     # (steps, qat_steps, candidates)
ARCHS = [Arch(grids=7, width=w, arm=a, arm_layers=n, convs=c) for w, a, n, c in
         ((6, 6, 1, 0), (8, 8, 1, 1), (12, 12, 1, 2), (16, 16, 1, 2), (24, 16, 2, 2), (32, 24, 2, 2), (40, 24, 2, 2))]
NET_SHARE = 0.2             # the network's estimated bits (NET_BITS per weight) stay below this share of a budget
NET_BITS = 7.0
CONTROL, GAIN = 10, 0.6
RATE_SPREAD = math.log(30.0)    # under a bpp target the controller keeps lambda within 30 times of its start
                            # (unbounded, a model that cannot lower its rate yet ran lambda up by 10^17 at --bpp
                            # 0.1; bounded upwards only, it overshot, the latents collapsed, and lambda ran down
                            # by 10^15 while they grew back)
SPREAD = math.log(100.0)    # under a PSNR target below 100 times its start, and free downwards (a high target may
                            # need a far smaller lambda)
LATENT_LR = 10.0            # the latents' learning rate is this many times the networks'
NET_BETAS, NET_DECAY = (0.95, 0.95), 0.01    # SOAP on the networks (Cool-chic 5.0's settings)
TEMPERATURE = (0.5, 0.1)    # soft rounding's temperature, first and last step of phase 1
NOISE_END = 0.5             # the noise amplitude at the last step of phase 1 (1 at the first)
QAT_DIV = 200.0             # phase 2 runs at lr / QAT_DIV (at lr / 20 it lost 0.7 dB)
RERUN = 0.6                 # a retry restarts from the state at this share of phase 1
TOLERANCE = 0.05            # a file within this share above (3 times it below) a bpp target is kept
AIM = 0.95                  # a bpp target aims at this share of the budget
RETRIES = 3
ELASTICITY = 0.55            # about -d log(rate) / d log(lambda), the search's first step
MAX_PSNR = 60.0             # a --psnr target above this is refused before any work
MIN_SIDE = 4
WARM = 100                  # warm-up steps of each candidate
FIT_STEPS, FIT_LR = 200, 1e-2   # `_fit_entropy`


@dataclass
class LatentConfig:
    """The latent-grid encoder's knobs: preset (PRESETS: steps, qat_steps and candidates, unless given), lr (the
    networks' initial learning rate), lmbda (fixed rate weight instead of a target), arch (None: the largest of
    ARCHS whose network fits the budget), seed (the first candidate's initialization and noise draws), time_limit
    (seconds: no retry of the lambda search that would end past it; None: no limit)."""
    preset: str = "medium"
    steps: int | None = None
    qat_steps: int | None = None
    candidates: int | None = None
    lr: float = 1e-2
    lmbda: float | None = None
    arch: Arch | None = None
    seed: int = 0
    time_limit: float | None = 600.0


@dataclass
class LatentEncoded:
    """A compressed image: data (the .sirz bytes), image (the reconstruction (H, W, C) uint8, what `decompress`
    returns), psnr (dB, against the input), bpp = 8 len(data) / (H W), seconds (encode wall time), lmbda (the final
    rate weight), arch, params (network weights stored), network_bytes (their coded size)."""
    data: bytes
    image: np.ndarray
    psnr: float
    bpp: float
    seconds: float
    lmbda: float
    arch: Arch
    params: int
    network_bytes: int


def _params(arch: Arch) -> int:
    return sum(p.numel() for n, p in LatentImage(arch, (2, 2)).named_parameters() if not n.startswith("latents"))


def choose_arch(size: tuple[int, int], channels: int, budget_bits: float) -> Arch:
    """The largest of ARCHS with params NET_BITS <= NET_SHARE budget_bits (the smallest if none), with
    min(7, floor(log2(min(H, W))) + 1) grids and the image's channels."""
    grids = min(7, int(math.log2(min(size))) + 1)
    fit = [a for a in ARCHS if _params(replace(a, channels=channels)) * NET_BITS <= NET_SHARE * budget_bits]
    return replace(fit[-1] if fit else ARCHS[0], grids=grids, channels=channels)


def _phase_lr(cfg_lr: float, i: int, steps: int, qat: int) -> float:
    if i < steps:
        return cfg_lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * i / steps)))
    return cfg_lr / QAT_DIV * 0.5 * (1 + math.cos(math.pi * (i - steps) / max(qat, 1)))


class _Target:
    """log lambda and its controller: towards `bits` total bits, or `db` PSNR, or fixed."""

    def __init__(self, lmbda: float, bits: float | None, db: float | None, extra_bits: float):
        self.log, self.bits, self.db, self.extra = math.log(lmbda), bits, db, extra_bits
        self.start = self.log
        self.ratio = 1.0        # coded bits / estimated bits, from one trial coding (`calibrate`)

    def _raw(self, model: LatentImage) -> float:
        """The rounded latents' bits under the float entropy model, plus the header's and the network's estimated
        bits."""
        with torch.no_grad():
            return float(model(None)[1]) + self.extra

    def estimate(self, model: LatentImage) -> float:
        """The file's bits as the controller sees them: `_raw` times `ratio`."""
        return self._raw(model) * self.ratio

    def calibrate(self, model: LatentImage, coded_bits: float) -> None:
        """Set `ratio` so that the estimate of the model as it is equals the bits of its coded file."""
        self.ratio = coded_bits / self._raw(model)

    @property
    def value(self) -> float:
        return math.exp(self.log)

    def update(self, model: LatentImage, target: torch.Tensor) -> None:
        if self.bits is None and self.db is None:
            return
        if self.bits is not None:
            step = math.log(self.estimate(model) / self.bits)
        else:
            with torch.no_grad():
                x = model(None)[0]
            step = -(self.db - psnr_of(x.clamp(0, 1), target)) * math.log(10) / 10
        low, high = (self.start - RATE_SPREAD, self.start + RATE_SPREAD) if self.bits is not None else \
            (-math.inf, self.start + SPREAD)
        self.log = max(low, min(high, self.log + GAIN * max(-1.0, min(1.0, step))))


def _accepted(error: float, rate: bool, quality: bool) -> bool:
    """A file is kept when its rate is within [-3 TOLERANCE, TOLERANCE] of a bpp target (log ratio `error`), or
    its PSNR reaches a PSNR target by at most 0.5 dB too much (error in nepers of MSE, <= 0), or without a target."""
    if rate:
        return -3 * TOLERANCE <= error <= TOLERANCE
    return -0.5 * math.log(10) / 10 <= error <= 0 if quality else True


def _next_lambda(tried: list[tuple], elasticity: float) -> float:
    """The next log lambda of the search: the secant through the last two (log lambda, error) points when it
    slopes the right way, else a step of error / elasticity from the last; at most 2 in log lambda."""
    (x1, e1), step = tried[-1][:2], tried[-1][1] / elasticity
    if len(tried) > 1:
        x0, e0 = tried[-2][:2]
        if (e0 - e1) * (x1 - x0) > 0:
            step = e1 * (x1 - x0) / (e0 - e1)
    return x1 + max(-2.0, min(2.0, step))


class _Steps:
    """Training steps run and expected (a retry adds its steps), shown through `progress(done, expected)` every
    CONTROL steps and at the end."""

    def __init__(self, expected: int, progress: Callable[[int, int], None] | None):
        self.done, self.expected, self.progress = 0, expected, progress

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % CONTROL == 0:
            self.progress(self.done, self.expected)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.done)


def _optimizer(model: LatentImage) -> Soap:
    """SOAP on the networks, Adam on the latents (module docstring); each group's "scale" multiplies the schedule's
    learning rate."""
    net = [p for n, p in model.named_parameters() if not n.startswith("latents")]
    return Soap([{"params": list(model.latents), "scale": LATENT_LR, "betas": (0.9, 0.999), "precondition": False},
                 {"params": net, "scale": 1.0, "weight_decay": NET_DECAY}], betas=NET_BETAS)


def _train(model: LatentImage, opt: Soap, target: torch.Tensor, lam: _Target, steps: int, qat: int,
           lr: float, gen: torch.Generator, log: Callable[[str], None], counter: _Steps, start: int = 0,
           stop: int | None = None, keep: int | None = None) -> dict | None:
    """Steps start .. stop - 1 (default steps + qat - 1) of the two phases (module docstring), each counted by
    `counter`; the model's state at step `keep`."""
    snapshot = None
    pixels = target.shape[1] * target.shape[2]
    total = steps + qat
    for i in range(start, total if stop is None else stop):
        if i == keep:
            snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if lam.bits is not None:
                lam.calibrate(model, 8.0 * len(_write(model, target, lam.value)[0]))
                log(f"step {i}: a trial coding has {lam.ratio:.3f} times the estimated bits")
        for g in opt.param_groups:
            g["lr"] = g["scale"] * _phase_lr(lr, i, steps, qat)
        progress = i / steps
        temperature = TEMPERATURE[0] + (TEMPERATURE[1] - TEMPERATURE[0]) * progress if i < steps else None
        x, bits = model(temperature, generator=gen, sample=True, noise=1.0 - (1.0 - NOISE_END) * progress)
        mse = torch.mean((x - target) ** 2)
        loss = mse + lam.value * bits / pixels
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.clamp_()
        counter.tick()
        if i % CONTROL == 0 and i < steps + qat // 2:
            lam.update(model, target)
        if i % 200 == 0 or i == total - 1:
            log(f"step {i}/{total}: MSE {float(mse.detach()):.2e}, "
                f"{float(bits.detach()) / pixels:.3f} bpp (latents, estimated), lambda {lam.value:.2e}")
    return snapshot


def _warm_up(arch: Arch, target: torch.Tensor, lam: _Target, steps: int, qat: int, count: int, warm: int,
             cfg: LatentConfig, log: Callable[[str], None],
             counter: _Steps) -> tuple[LatentImage, Soap, torch.Generator]:
    """Phase 0 (module docstring) -> (model, its optimizer, its noise generator), the model at step `warm` (0: the
    first candidate, untrained); `lam` takes the chosen candidate's lambda. Each candidate runs the schedule's first
    `warm` steps with its own copy of the lambda controller; they are compared at the geometric mean of their
    lambdas."""
    pixels, runs = target.shape[1] * target.shape[2], []
    for j in range(count):
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed + j)
            model = LatentImage(arch, tuple(target.shape[1:]))
        opt, gen = _optimizer(model), torch.Generator().manual_seed(cfg.seed + j)
        if not warm:
            return model, opt, gen
        own = copy.copy(lam)
        _train(model, opt, target, own, steps, qat, cfg.lr, gen, lambda line: None, counter, stop=warm)
        with torch.no_grad():
            x, bits = model(None)
        runs.append((float(torch.mean((x - target) ** 2)), float(bits) / pixels, own, model, opt, gen))
    common = math.exp(sum(r[2].log for r in runs) / len(runs))
    costs = [mse + common * rate for mse, rate, *_ in runs]
    for j, c in enumerate(costs):
        log(f"candidate {j} (seed {cfg.seed + j}): J {c:.4e} after {warm} steps (lambda {common:.3g})")
    _, _, chosen, model, opt, gen = runs[costs.index(min(costs))]
    lam.log = chosen.log
    return model, opt, gen


def _code_bits(x: np.ndarray) -> float:
    return 8.0 * len(entropy.encode([x.astype(np.int64).ravel()], [latent_file.weight_bits(x)], "arith"))


@torch.no_grad()
def _steps(model: LatentImage, target: torch.Tensor, lmbda: float) -> dict[str, int]:
    """k per network tensor (step 2^-k, 0 <= k <= 15, integers within 16 bits) minimising MSE + lambda (latent
    bits + the tensor's coded bits) / (H W), one tensor at a time (synthesis tensors change only the MSE, entropy
    tensors only the latents' bits), starting from k = 12 everywhere; k falls from 15 (the finest within 16 bits)
    until 3 steps past the best."""
    pixels = target.shape[1] * target.shape[2]
    y = [torch.round(g) for g in model.latents]
    feats, ctx = model.features(y), model.contexts(y)
    flat = torch.cat([g.reshape(-1) for g in y])
    state = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = dict(model.named_parameters())
    names = [n for n, _ in model.arch.tensors()]
    ks = {n: 12 for n in names}

    def cost(name: str) -> float:
        if name.startswith("entropy"):
            mu, lb = model.arm(ctx)
            return lmbda * float(latent_bits(flat, mu, lb).sum()) / pixels
        return float(torch.mean((model.synthesize(feats) - target) ** 2))

    def set_all() -> None:
        for n in names:
            params[n].copy_(torch.round(state[n] * 2.0 ** ks[n]) * 2.0 ** -ks[n])

    set_all()
    for name in names:
        best = None
        for k in range(15, -1, -1):
            q = torch.round(state[name] * 2.0 ** k)
            if latent_file.weight_bits(q.numpy()) > 16:
                continue
            if best is not None and k < best[1] - 2:
                break
            params[name].copy_(q * 2.0 ** -k)
            j = cost(name) + lmbda * _code_bits(q.numpy()) / pixels
            if best is None or j < best[0]:
                best = (j, k)
        ks[name] = best[1]
        set_all()
    for n in names:
        params[n].copy_(state[n])
    return ks


def _fit_entropy(model: LatentImage) -> LatentImage:
    """A copy of the model whose entropy model has taken FIT_STEPS Adam steps (lr FIT_LR, cosine-decayed) on the
    bits of the rounded latents, the latents and the synthesis unchanged."""
    out = copy.deepcopy(model)
    y = [torch.round(g.detach()) for g in out.latents]
    ctx, flat = out.contexts(y), torch.cat([g.reshape(-1) for g in y])
    opt = torch.optim.Adam(out.entropy.parameters(), lr=FIT_LR)
    for i in range(FIT_STEPS):
        opt.param_groups[0]["lr"] = FIT_LR * 0.5 * (1 + math.cos(math.pi * i / FIT_STEPS))
        mu, log2b = out.arm(ctx)
        loss = latent_bits(flat, mu, log2b).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return out


def quantize_network(model: LatentImage, steps: dict[str, int]) -> exact.Quantized:
    """Each network tensor (`Arch.tensors` order) -> (round(w 2^k), k) with k = steps[name], as float64 arrays."""
    state = model.state_dict()
    return {n: (np.round(state[n].detach().double().numpy() * 2.0 ** steps[n]), steps[n])
            for n, _ in model.arch.tensors()}


def _write(model: LatentImage, target: torch.Tensor, lmbda: float) -> tuple[bytes, exact.Quantized]:
    model = _fit_entropy(model)
    q = quantize_network(model, _steps(model, target, lmbda))
    latents = [np.round(g.detach().double().numpy()) for g in model.latents]
    return latent_file.write(model.arch, model.size, q, latents), q


def compress_latent(img: np.ndarray, bpp: float | None = None, psnr: float | None = None,
                    config: LatentConfig | None = None, log: Callable[[str], None] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> LatentEncoded:
    """An (H, W, C) image in [0, 1] (C in {1, 3}, H, W >= MIN_SIDE) -> a version-2 .sirz file aimed at bpp H W / 8
    bytes, or whose reconstruction reaches `psnr` dB, or with config.lmbda fixed (exactly one of the three; module
    docstring). Of the files tried, the one nearest the target that meets it (else the nearest). `progress(done,
    expected)` sees the training steps every CONTROL steps (a retry raises `expected`) and (n, n) at the end."""
    cfg, log = config or LatentConfig(), log or (lambda s: None)
    start = time.perf_counter()
    if sum(x is not None for x in (bpp, psnr, cfg.lmbda)) != 1:
        raise SirenError("give one of --bpp, --psnr or --lmbda")
    if cfg.preset not in PRESETS:
        raise SirenError(f"must be one of {', '.join(PRESETS)}, got {cfg.preset!r}", field="preset")
    steps, qat, count = (given if given is not None else default for given, default in
                         zip((cfg.steps, cfg.qat_steps, cfg.candidates), PRESETS[cfg.preset]))
    for field, value, least in (("steps", steps, 1), ("qat_steps", qat, 0), ("candidates", count, 1)):
        if value < least:
            raise SirenError(f"must be at least {least}, got {value}", field=field)
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise SirenError(f"the image has shape {img.shape}, expected (H, W, 1) or (H, W, 3)")
    h, w, c = img.shape
    if min(h, w) < MIN_SIDE or max(h, w) > 65536:
        raise SirenError(f"the image is {w}x{h} pixels; the latent-grid codec needs sides of {MIN_SIDE} to 65536 "
                         f"(resize it, or use --method siren)")
    if bpp is not None and bpp <= 0:
        raise SirenError(f"must be positive, got {bpp}", field="bpp")
    if psnr is not None and not 0 < psnr <= MAX_PSNR:
        raise SirenError(f"must be in (0, {MAX_PSNR:g}] dB for this codec, got {psnr}", field="psnr")
    if cfg.lmbda is not None and cfg.lmbda <= 0:
        raise SirenError(f"must be positive, got {cfg.lmbda}", field="lmbda")
    budget = int(bpp * h * w / 8) if bpp is not None else None
    arch = cfg.arch or choose_arch((h, w), c, 8.0 * budget if budget else 0.5 * h * w)
    params = _params(arch)
    with torch.random.fork_rng():
        model = LatentImage(arch, (h, w))
    smallest = latent_file.overhead(arch) + math.ceil(params * 2 / 8)
    if budget is not None and budget < smallest:
        raise SirenError(f"a budget of {budget} bytes is below the smallest latent-grid file for this image (about "
                         f"{smallest} bytes; raise --bpp)")
    target = torch.from_numpy(img).float().permute(2, 0, 1).contiguous()
    extra = 8.0 * latent_file.overhead(arch) + NET_BITS * params
    start_lmbda = cfg.lmbda or (2e-3 * min(100.0, (0.5 / bpp) ** 2) if bpp else 2e-3)
    lam = _Target(start_lmbda, AIM * 8.0 * budget if budget else None, psnr, extra)
    log(f"{w}x{h}, {arch.grids} grids, synthesis width {arch.width}, entropy model {arch.arm} x {arch.arm_layers}, "
        f"{arch.convs} convolutions, {params} weights; {steps} + {qat} steps, {count} candidates")
    warm = min(WARM, steps // 4) if count > 1 else 0      # each candidate's warm-up steps
    counter = _Steps(count * warm + steps + qat - warm, progress)
    model, opt, gen = _warm_up(arch, target, lam, steps, qat, count, warm, cfg, log, counter)
    trained = time.perf_counter()
    snapshot = _train(model, opt, target, lam, steps, qat, cfg.lr, gen, log, counter, start=warm,
                      keep=int(RERUN * steps))
    trained = (time.perf_counter() - trained) * (steps + qat - int(RERUN * steps)) / (steps + qat - warm)
    lam.bits = lam.db = None
    tried: list[tuple[float, float, bytes, np.ndarray, float, exact.Quantized]] = []   # (log lambda, error, ...)
    for attempt in range(RETRIES + 1):
        if attempt:
            now = time.perf_counter()
            if cfg.time_limit is not None and now - start + retry > cfg.time_limit:
                log(f"no further try: one would end past the time limit of {cfg.time_limit:g} s")
                break
            lam.log = _next_lambda(tried, ELASTICITY if budget else 1.0)
            model.load_state_dict(snapshot)
            counter.expected += steps + qat - int(RERUN * steps)
            _train(model, _optimizer(model), target, lam, steps, qat, cfg.lr, gen, log, counter,
                   start=int(RERUN * steps))
        coded = time.perf_counter()
        data, q = _write(model, target, lam.value)
        recon = latent_file.decode(data)
        retry = time.perf_counter() - (now if attempt else coded - trained)
        quality = psnr_of(recon.astype(np.float64) / 255.0, img)
        log(f"coded: {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, {quality:.2f} dB, lambda {lam.value:.3g}")
        error = math.log(len(data) / budget) if budget else (psnr - quality) * math.log(10) / 10 if psnr else 0.0
        tried.append((lam.log, error, data, recon, quality, q))
        if _accepted(error, budget is not None, psnr is not None):
            break
    ok = [t for t in tried if _accepted(t[1], budget is not None, psnr is not None) or t[1] <= 0]
    if psnr is not None and not ok:
        raise SirenError(f"this image reaches {max(t[4] for t in tried):.2f} dB, below the {psnr} dB asked for "
                         f"(lower --psnr or use a slower --preset)")
    counter.finish()
    log_lambda, _, data, recon, quality, q = min(ok or tried, key=lambda t: abs(t[1]))
    lam.log = log_lambda
    net = len(latent_file.code_network(q)[1])
    return LatentEncoded(data, recon, quality, 8 * len(data) / (h * w), time.perf_counter() - start, lam.value,
                         arch, params, net)
