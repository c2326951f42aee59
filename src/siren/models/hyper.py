"""Priors over SIRENs (paper sec. 4.4): encode a few context pixels of an image into a latent code z, and let a
hypernetwork map z to every parameter of a SIREN that represents the whole image.

    context (values, mask) --encoder--> z (B, L) --HyperNetwork--> theta_b = {W_i, c_i} --SIREN--> image b

Encoders, both `(values (B, H, W, C) in [-1, 1], mask (B, H, W) bool) -> z (B, L)`:
    SetEncoder   a ReLU MLP on each context pixel's (y, x, r, g, b), then the mean over the context pixels only
                 (masked mean pooling: images with different numbers of context pixels share one padded batch)
    CNNEncoder   a CNN on the context made dense by normalized convolution (Gaussian-weighted local means of the
                 known pixels and their density, at octave bandwidths), strided down to a 4 x 4 grid, then a
                 linear map to L: it sees a whole image from 10 context pixels as from 1,000
HyperNetwork: one ReLU MLP per SIREN parameter tensor (W_0, c_0, W_1, c_1, ...), `hyper_layers` hidden layers of
`hyper_hidden` units (the paper: 256 x 2), mapping z to that tensor for every image at once, in units of that
tensor's init standard deviation s_i: theta_i(z) = s_i MLP_i(z). The SIREN's tensors differ in scale by about 70x
(first-layer weights s = 0.29, hidden weights sqrt(6/n)/omega/sqrt(3) = 0.004 at n = 128), and Adam moves every
hypernetwork weight by about lr per step whatever its size: emitting theta_i directly, an early step at lr 5e-4
moves a generated weight by up to lr * sum_j |h_j(z)| = 0.03 (128 hidden units), several times the hidden weights'
spread and 10% of the first layer's; in units of s_i a step moves each tensor by the same fraction of its spread.
Init: the hidden layers are Kaiming-normal (zero bias), so for z ~ N(0, I) every hidden unit has unit second moment;
the last layer's bias is one draw of the paper's SIREN init of that tensor over s_i, and its weight is
U(+-sqrt(3/hyper_hidden)) so that W h(z) has unit second moment, both divided by sqrt(1 + z_scale^2) after scaling W
by z_scale. The generated SIRENs therefore start with the SIREN init's spread per layer (W_0 ~ U(+-1/n), later W ~
U(+-sqrt(6/n)/omega), biases U(+-1/sqrt(n))), tests/models/test_hyper.py checks each tensor to 10%, and a share
z_scale^2 / (1 + z_scale^2) of that variance comes from z (less the part of W h(z) that ReLU means make constant).
z_scale = 1 (half): with 0.1 the generated weights hardly depend on z at the start and the 0.1 mean(z^2) penalty
keeps z small (docs/priors.md, "Design choices, measured", has the held-out MSE of each choice).
The generated SIREN is evaluated by `siren.models.batched.siren_forward`: one batched product per layer, the same
function as a `Siren` with those weights loaded (`HyperNetwork.siren` builds that module).

HyperSiren = encoder + hypernetwork (prior registry names "set", "cnn"); CNP = the Conditional Neural
Process baseline (Garnelo et al. 2018; prior registry name "cnp"): the set encoder's r, and a ReLU MLP decoder on
(r, y, x) that predicts a mean and a standard deviation per pixel and channel (std = 0.1 + 0.9 softplus).
Every prior model: forward(values, mask) -> PriorOutput(pred (B, H, W, C), z, params, std), encode(values, mask)
-> z, decode(z, coords (N, 2)) -> (B, N, C) in [-1, 1] units, at any coordinates in [-1, 1]^2 (any resolution).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ..data.grid import grid
from .batched import _linears, siren_forward
from .sine import Siren

__all__ = ["PriorOutput", "SetEncoder", "CNNEncoder", "HyperNetwork", "HyperSiren", "CNP", "gather_context",
           "siren_init_std", "PRIOR_BUILDERS"]


class PriorOutput(NamedTuple):
    """pred: (B, H, W, C) the reconstruction (a CNP's mean); z: (B, L) the latent code (a CNP's r);
    params: the generated SIREN tensors [W_0 (B, out, in), c_0 (B, out), W_1, ...] (None for a CNP);
    std: (B, H, W, C) a CNP's predicted standard deviation (None for a hypernetwork)."""
    pred: torch.Tensor
    z: torch.Tensor
    params: list | None = None
    std: torch.Tensor | None = None


def gather_context(values: torch.Tensor, mask: torch.Tensor, coords: torch.Tensor):
    """The context pixels of each image, padded to the largest count.

    values (B, N, C), mask (B, N) bool, coords (N, d) -> points (B, K, d + C) = (coords, values) of context pixels
    first (in pixel order), valid (B, K) bool (False on padding); K = the largest number of context pixels.
    """
    b, n, _ = values.shape
    counts = mask.sum(1)
    k = int(counts.max()) if b else 0
    order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)[:, :k]                   # context first
    pts = torch.cat([coords.expand(b, n, coords.shape[-1]), values], dim=-1)
    points = pts.gather(1, order[..., None].expand(b, k, pts.shape[-1]))
    valid = torch.arange(k, device=mask.device)[None, :] < counts[:, None]
    return points, valid


def _mlp(sizes: list[int], last_relu: bool = False) -> nn.Sequential:
    """ReLU MLP through `sizes` (Kaiming-normal weights, zero biases)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2 or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SetEncoder(nn.Module):
    """Set encoder over context pixels: z = mean over context pixels p of MLP(y_p, x_p, r_p, g_p, b_p).

    values (B, H, W, C) in [-1, 1], mask (B, H, W) bool -> z (B, latent_dim). MLP: in_features + channels ->
    hidden (ReLU) x layers -> latent_dim. An image without context pixels gets z = 0.
    """

    def __init__(self, channels: int = 3, latent_dim: int = 256, hidden: int = 256, layers: int = 2,
                 in_features: int = 2):
        super().__init__()
        self.net = _mlp([in_features + channels] + [hidden] * layers + [latent_dim])

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, h, w, c = values.shape
        points, valid = gather_context(values.reshape(b, h * w, c), mask.reshape(b, h * w),
                                       grid((h, w), device=values.device, dtype=values.dtype))
        emb = self.net(points) * valid[..., None]
        return emb.sum(1) / valid.sum(1, keepdim=True).clamp_min(1)


def gaussian_pyramid_sigmas(resolution: int) -> list[float]:
    """Octave-spaced bandwidths (pixels) of `CNNEncoder`'s normalized convolutions: 1, 2, 4, ... up to a quarter of
    the image side (at least one)."""
    return [2.0 ** j for j in range(int(math.log2(max(resolution, 4))) - 1)]


def normalized_convolution(values: torch.Tensor, mask: torch.Tensor, sigma: float, eps: float = 1e-3):
    """Normalized convolution (Knutsson & Westin 1993) with a Gaussian applicability g of `sigma` pixels (sum 1,
    truncated at 3 sigma, zero outside the image): values (B, C, H, W), mask m (B, 1, H, W) in {0, 1} ->
    (estimate g * (m v) / (g * m + eps) (B, C, H, W), certainty g * m (B, 1, H, W)). The estimate is a local
    weighted mean of the known pixels, a smooth image whether 10 or 1,000 pixels are known (eps shrinks it toward
    0, by the factor certainty / (certainty + eps), where the known pixels within reach weigh little); the
    certainty is the local density of known pixels (1 for a full mask away from the border). Separable: two 1-D
    convolutions."""
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, device=values.device, dtype=values.dtype)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    x = torch.cat([values * mask, mask], dim=1)
    c = x.shape[1]
    x = F.conv2d(x, g.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), padding=(r, 0), groups=c)
    x = F.conv2d(x, g.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), padding=(0, r), groups=c)
    num, den = x[:, :-1], x[:, -1:]
    return num / (den + eps), den


class CNNEncoder(nn.Module):
    """CNN over the context made dense. values (B, H, W, C) in [-1, 1], mask (B, H, W) bool -> z (B, latent_dim).

    Input: a convolution of the sparse masked image sees next to nothing at 10 context pixels (one per 10 x 10
    patch) and a different kind of input at 1,000, so the CNN sees only the normalized convolution
    (`normalized_convolution`, Knutsson & Westin 1993) of the context at the octave bandwidths sigma = 1, 2, 4, ...
    pixels up to a quarter of the side (`gaussian_pyramid_sigmas`; 1, 2, 4, 8 at 32 x 32): for each sigma the local
    weighted mean of the known pixels U_sigma = g_sigma * (m v) / (g_sigma * m + eps) (C channels) and their density
    g_sigma * m (1 channel). The fine scales keep detail where the context is dense, the coarse ones fill the whole
    image from 10 pixels, and every channel is a smooth image whatever the density.
    CNN: conv 3x3 (-> hidden), ReLU; then, while the side is above 4, a stage of a stride-2 conv 3x3 and `blocks`
    residual convs 3x3 (ReLU, hidden channels); then average pooling to a 4 x 4 grid, flattened (16 x hidden
    features, each from one region of the image), and a linear map to latent_dim. The receptive field covers the
    image, and the fixed output grid lets it take any side (`resolution` sets the stages and the bandwidths).
    Init: Kaiming-normal weights, zero biases (z depends on the image from the first step). Why normalized
    convolution rather than the masked image and mask as input channels: docs/priors.md, "Design choices, measured".
    """

    def __init__(self, channels: int = 3, resolution: int = 32, latent_dim: int = 256, hidden: int = 256,
                 blocks: int = 2):
        super().__init__()
        self.sigmas = gaussian_pyramid_sigmas(resolution)
        self.stem = nn.Conv2d(len(self.sigmas) * (channels + 1), hidden, 3, padding=1)
        self.stages = nn.ModuleList()
        side = resolution
        while side > 4:
            self.stages.append(nn.ModuleList([nn.Conv2d(hidden, hidden, 3, stride=2, padding=1)]
                                             + [nn.Conv2d(hidden, hidden, 3, padding=1) for _ in range(blocks)]))
            side = (side + 1) // 2
        self.out = nn.Linear(16 * hidden, latent_dim)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        v = values.permute(0, 3, 1, 2)
        m = mask.to(values.dtype)[:, None]                                          # (B, 1, H, W)
        x = torch.cat([t for sigma in self.sigmas for t in normalized_convolution(v, m, sigma)], dim=1)
        x = F.relu(self.stem(x))
        for down, *convs in self.stages:
            x = F.relu(down(x))
            for conv in convs:
                x = F.relu(x + conv(x))
        return self.out(F.adaptive_avg_pool2d(x, 4).flatten(1))


def siren_init_std(fan_in: int, kind: str, omega: float = 30.0) -> float:
    """Standard deviation (bound / sqrt(3)) of the paper's SIREN init of one parameter tensor with fan-in n:
    kind "first" (first layer's weight, U(+-1/n)), "weight" (any later weight, U(+-sqrt(6/n)/omega)) or "bias"
    (PyTorch's default, U(+-1/sqrt(n)))."""
    bounds = {"first": 1.0 / fan_in, "weight": math.sqrt(6.0 / fan_in) / omega, "bias": 1.0 / math.sqrt(fan_in)}
    return bounds[kind] / math.sqrt(3.0)


class HyperNetwork(nn.Module):
    """z (B, latent_dim) -> the parameters of B SIRENs of one architecture (options as `Siren`).

    One ReLU MLP per SIREN parameter tensor: latent_dim -> hyper_hidden (ReLU) x hyper_layers -> numel. forward
    returns [W_0 (B, out_0, in_0), c_0 (B, out_0), W_1, c_1, ...] (`Siren`'s layers, first to last);
    `layers(params)` splits them into (weights, biases) for `siren_forward` with `self.omegas`. Each MLP emits its
    tensor in units of the tensor's SIREN-init standard deviation (`init_stds`). Init: see the module docstring
    (the generated SIRENs start with the SIREN init's spread; `z_scale` sets the share of the latent-dependent
    part).
    """

    def __init__(self, latent_dim: int, in_features: int = 2, out_features: int = 3, hidden_features: int = 256,
                 hidden_layers: int = 3, first_omega_0: float = 30.0, hidden_omega_0: float = 30.0,
                 outermost_linear: bool = True, hyper_hidden: int = 256, hyper_layers: int = 2,
                 z_scale: float = 1.0):
        super().__init__()
        self.options = dict(in_features=in_features, hidden_features=hidden_features, hidden_layers=hidden_layers,
                            out_features=out_features, first_omega_0=first_omega_0, hidden_omega_0=hidden_omega_0,
                            outermost_linear=outermost_linear)
        self.omegas = [float(first_omega_0)] + [float(hidden_omega_0)] * hidden_layers \
            + [None if outermost_linear else float(hidden_omega_0)]
        with torch.random.fork_rng(devices=[]):          # draw the template from its own stream position
            template = Siren(**self.options)
        self.shapes, self.init_stds, nets = [], [], []
        width = hyper_hidden if hyper_layers > 0 else latent_dim
        for i, lin in enumerate(_linears(template)):
            for tensor, is_bias in ((lin.weight, False), (lin.bias, True)):
                kind = "bias" if is_bias else ("first" if i == 0 else "weight")
                std = siren_init_std(lin.weight.shape[1], kind, hidden_omega_0)
                net = _mlp([latent_dim] + [hyper_hidden] * hyper_layers + [tensor.numel()])
                last = net[-1]
                with torch.no_grad():
                    norm = math.sqrt(1.0 + z_scale ** 2)
                    bound = math.sqrt(3.0) * z_scale / math.sqrt(width) / norm
                    last.weight.uniform_(-bound, bound)
                    last.bias.copy_(tensor.detach().flatten() / std / norm)
                self.shapes.append(tuple(tensor.shape))
                self.init_stds.append(std)
                nets.append(net)
        self.nets = nn.ModuleList(nets)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        return [(net(z) * std).reshape(z.shape[0], *shape)
                for net, shape, std in zip(self.nets, self.shapes, self.init_stds)]

    def layers(self, params: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """[W_0, c_0, W_1, c_1, ...] -> ([W_0, W_1, ...], [c_0, c_1, ...])."""
        return params[0::2], params[1::2]

    def evaluate(self, params: list[torch.Tensor], coords: torch.Tensor) -> torch.Tensor:
        """The generated SIRENs at coords (N, in) or (B, N, in) -> (B, N, out)."""
        weights, biases = self.layers(params)
        return siren_forward(coords, weights, biases, self.omegas)

    @torch.no_grad()
    def siren(self, params: list[torch.Tensor], b: int = 0) -> Siren:
        """SIREN b of `params` as a standalone `Siren` module (the same function; built without touching the
        global random stream)."""
        with torch.random.fork_rng(devices=[]):
            siren = Siren(**self.options)
        siren.to(params[0].device, params[0].dtype)
        for lin, w, c in zip(_linears(siren), *self.layers(params), strict=True):
            lin.weight.copy_(w[b])
            lin.bias.copy_(c[b])
        return siren


class _Prior(nn.Module):
    """What every prior model shares: forward on image batches and chunked rendering on any grid."""

    channels: int

    def encode(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def render(self, z: torch.Tensor, shape: tuple[int, int], chunk: int = 65_536) -> torch.Tensor:
        """The functions of codes z on an (H, W) grid over [-1, 1]^2 -> (B, H, W, C) in [-1, 1] units."""
        coords = grid(shape, device=z.device, dtype=z.dtype)
        out = torch.cat([self.decode(z, c) for c in coords.split(chunk)], dim=1)
        return out.reshape(z.shape[0], *shape, -1)


class HyperSiren(_Prior):
    """Encoder + HyperNetwork: (values (B, H, W, C), mask (B, H, W)) -> PriorOutput (pred, z, params)."""

    def __init__(self, encoder: nn.Module, hypernet: HyperNetwork):
        super().__init__()
        self.encoder, self.hypernet = encoder, hypernet
        self.channels = hypernet.options["out_features"]

    def encode(self, values, mask):
        return self.encoder(values, mask)

    def decode(self, z, coords):
        return self.hypernet.evaluate(self.hypernet(z), coords)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> PriorOutput:
        b, h, w, _ = values.shape
        z = self.encode(values, mask)
        params = self.hypernet(z)
        pred = self.hypernet.evaluate(params, grid((h, w), device=values.device, dtype=values.dtype))
        return PriorOutput(pred.reshape(b, h, w, -1), z, params)


class CNP(_Prior):
    """Conditional Neural Process: r = SetEncoder(context); per pixel, a ReLU MLP on (r, y, x) -> mean and
    std = 0.1 + 0.9 softplus(.) for each channel. Decoder: latent_dim + in_features -> hidden_features (ReLU)
    x (hidden_layers + 1) -> 2 C (hidden_layers counts the layers after the first, as for `Siren`)."""

    def __init__(self, in_features: int = 2, out_features: int = 3, latent_dim: int = 128,
                 hidden_features: int = 128, hidden_layers: int = 3, encoder_hidden: int = 128,
                 encoder_layers: int = 2):
        super().__init__()
        self.channels = out_features
        self.encoder = SetEncoder(out_features, latent_dim, encoder_hidden, encoder_layers, in_features)
        self.first_r = nn.Linear(latent_dim, hidden_features)
        self.first_x = nn.Linear(in_features, hidden_features, bias=False)
        nn.init.kaiming_normal_(self.first_r.weight, nonlinearity="relu")
        nn.init.zeros_(self.first_r.bias)
        nn.init.kaiming_normal_(self.first_x.weight, nonlinearity="relu")
        self.rest = _mlp([hidden_features] * (hidden_layers + 1) + [2 * out_features])
        self.rest.insert(0, nn.ReLU())

    def encode(self, values, mask):
        return self.encoder(values, mask)

    def distribution(self, r: torch.Tensor, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """r (B, L), coords (N, in) -> mean, std (B, N, C). The first layer on (r, x) is split into r's part
        (once per image) and x's part (once per point)."""
        h = self.first_r(r)[:, None, :] + self.first_x(coords)[None]
        mean, raw = self.rest(h).chunk(2, dim=-1)
        return mean, 0.1 + 0.9 * F.softplus(raw)

    def decode(self, z, coords):
        return self.distribution(z, coords)[0]

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> PriorOutput:
        b, h, w, _ = values.shape
        r = self.encode(values, mask)
        mean, std = self.distribution(r, grid((h, w), device=values.device, dtype=values.dtype))
        return PriorOutput(mean.reshape(b, h, w, -1), r, None, std.reshape(b, h, w, -1))


def _check_image(in_features: int) -> None:
    if in_features != 2:
        raise ValueError(f"priors over SIRENs work on images: in_features must be 2, got {in_features}")


def _build_hyper(encoder: str, in_features: int, out_features: int, resolution: int = 32, latent_dim: int = 256,
                 hidden_features: int = 256, hidden_layers: int = 3, first_omega_0: float = 30.0,
                 hidden_omega_0: float = 30.0, hyper_hidden: int = 256, hyper_layers: int = 2,
                 encoder_hidden: int = 256, encoder_layers: int = 2) -> HyperSiren:
    """Encoder + hypernetwork of a SIREN (2 -> C). encoder "set": encoder_layers hidden ReLU layers of
    encoder_hidden (works at any resolution; `resolution` is recorded); "cnn": encoder_hidden channels,
    encoder_layers residual convs per downsampling stage, `resolution` sets the number of stages."""
    _check_image(in_features)
    hyper = HyperNetwork(latent_dim, in_features, out_features, hidden_features, hidden_layers, first_omega_0,
                         hidden_omega_0, hyper_hidden=hyper_hidden, hyper_layers=hyper_layers)
    if encoder == "set":
        enc = SetEncoder(out_features, latent_dim, encoder_hidden, encoder_layers, in_features)
    else:
        enc = CNNEncoder(out_features, resolution, latent_dim, encoder_hidden, encoder_layers)
    model = HyperSiren(enc, hyper)
    model.resolution = resolution
    return model


build_hyper_set = functools.partial(_build_hyper, "set")      # set encoder + hypernetwork (options: _build_hyper)
build_hyper_cnn = functools.partial(_build_hyper, "cnn")      # CNN encoder + hypernetwork


def build_cnp(in_features: int, out_features: int, resolution: int = 32, latent_dim: int = 128,
              hidden_features: int = 128, hidden_layers: int = 3, encoder_hidden: int = 128,
              encoder_layers: int = 2) -> CNP:
    """Conditional Neural Process baseline (resolution recorded; it works at any resolution)."""
    _check_image(in_features)
    model = CNP(in_features, out_features, latent_dim, hidden_features, hidden_layers, encoder_hidden,
                encoder_layers)
    model.resolution = resolution
    return model


# the prior registry's entries (siren.models.build_model(..., kind="prior")), by encoder:
# context (B, H, W, C) + mask (B, H, W) -> PriorOutput
PRIOR_BUILDERS = {"set": build_hyper_set, "cnn": build_hyper_cnn, "cnp": build_cnp}
