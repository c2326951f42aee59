"""Priors over SIRENs (paper sec. 4.4): encode a few context pixels of an image into a latent code z, and let a
hypernetwork map z to every parameter of a SIREN that represents the whole image.

    context (values, mask) --encoder--> z (B, L) --HyperNetwork--> theta_b = {W_i, c_i} --SIREN--> image b

Encoders, both `(values (B, H, W, C) in [-1, 1], mask (B, H, W) bool) -> z (B, L)`:
    SetEncoder   a ReLU MLP on each context pixel's (y, x, r, g, b), then the mean over the context pixels only
                 (masked mean pooling: images with different numbers of context pixels share one padded batch)
    CNNEncoder   a CNN on the masked image (unknown pixels zeroed) with the mask as an extra channel, then a learned
                 weighting of the spatial positions (the reference's encoder: a fully connected layer over the
                 H * W positions, so it is tied to one resolution), then a linear map to L; its convolutions are
                 sparsity-normalised so that z does not scale with the number of context pixels
HyperNetwork: one ReLU MLP per SIREN parameter tensor (W_0, c_0, W_1, c_1, ...), `hyper_layers` hidden layers of
`hyper_hidden` units (the paper: 256 x 2), mapping z to that tensor for every image at once. Init: the hidden layers
are Kaiming-normal (zero bias), so for z ~ N(0, I) every hidden unit has unit second moment; the last layer's bias
is one draw of the paper's SIREN init of that tensor and its weight is scaled so that its term W h(z) has `z_scale`
(0.1) times the init's standard deviation (about 7% varies with z: ReLU units have a mean). The generated SIRENs
therefore start with the SIREN init's spread per layer (W_0 ~ U(+-1/n), later W ~ U(+-sqrt(6/n)/omega), biases
U(+-1/sqrt(n))), times sqrt(1 + z_scale^2); tests/models/test_hyper.py checks each tensor to 10%.
The generated SIREN is evaluated by `siren.models.batched.siren_forward`: one batched product per layer, the same
function as a `Siren` with those weights loaded (`HyperNetwork.siren` builds that module).

HyperSiren = encoder + hypernetwork (registry names "hyper_set", "hyper_cnn"); CNP = the Conditional Neural
Process baseline (Garnelo et al. 2018; registry name "cnp"): the set encoder's r, and a ReLU MLP decoder on
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


class _SparseConv(nn.Module):
    """Sparsity-normalised k x k convolution (after Uhrig et al. 2017): the convolution of the known inputs only,
    times sqrt(k^2 / number of known inputs in the window), plus the bias, so that the output's variance (Kaiming
    init: a sum of independent terms) does not depend on the density of the context (Uhrig et al. divide by the
    count, an average, which amplifies sparse windows k^2-fold per layer on such sums). An output is known when its
    window holds a known input; unknown outputs are 0.
    x (B, C, H, W), m (B, 1, H, W) in {0, 1} -> (y (B, C', H, W), m' (B, 1, H, W))."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2)
        self.register_buffer("ones", torch.ones(1, 1, k, k), persistent=False)

    def forward(self, x, m):
        k = self.conv.kernel_size[0]
        count = F.conv2d(m, self.ones, padding=k // 2)
        known = (count > 0).to(x.dtype)
        y = F.conv2d(x * m, self.conv.weight, None, padding=k // 2) * (k * k / count.clamp_min(1.0)).sqrt()
        return (y + self.conv.bias[:, None, None]) * known, known


class _ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1, self.conv2 = _SparseConv(width, width), _SparseConv(width, width)

    def forward(self, x, m):
        h, m1 = self.conv1(x, m)
        h, m2 = self.conv2(F.relu(h), m1)
        return F.relu(x * m + h), m2


class CNNEncoder(nn.Module):
    """CNN over the masked image. values (B, H, W, C) in [-1, 1], mask (B, H, W) bool -> z (B, latent_dim).

    Input: (values, mask, y, x) of the known pixels as C + 3 channels (the pixel coordinates, as the set encoder
    sees them: CoordConv, Liu et al. 2018). conv 3x3 (C+3 -> hidden), ReLU, conv 3x3, ReLU, `blocks`
    residual blocks of two 3x3 convs, conv 1x1, ReLU; then a linear weighting of the H * W positions (shared by
    the channels; the reference's encoder) -> (B, hidden), and a linear map to latent_dim. Tied to `resolution`.

    Two changes to the reference's layout make z comparable across context densities (training sees 10 to 200 of
    1,024 pixels; scoring goes up to 1,000): the 3x3 convolutions are sparsity-normalised (`_SparseConv`: known
    pixels only, rescaled by the square root of k^2 over their count in the window, the known region growing by one
    pixel per layer; at init z then has the same size, rms 0.8 to 0.9, from 10, 100 or 1,000 pixels), and
    the position weighting is divided by the fraction of positions that are known at the end. Without them the
    features grow with the number of context pixels: with plain convolutions the CNN prior's MSE at 1,000 context
    pixels (0.030) was worse than at 10 (0.022) in the 2,000-step benchmark. Init: Kaiming-normal weights, zero
    biases, the position weighting a plain mean (PyTorch's default init shrinks the signal at every layer, and z
    then hardly depends on the image at the start).
    """

    def __init__(self, channels: int = 3, resolution: int = 32, latent_dim: int = 256, hidden: int = 256,
                 blocks: int = 2):
        super().__init__()
        self.resolution = resolution
        self.conv1, self.conv2 = _SparseConv(channels + 3, hidden), _SparseConv(hidden, hidden)
        self.blocks = nn.ModuleList([_ResBlock(hidden) for _ in range(blocks)])
        wide = max(hidden, latent_dim)  # the pooled features: not narrower than z (a cheap 1x1 conv)
        self.pointwise = nn.Conv2d(hidden, wide, 1)
        self.positions = nn.Linear(resolution * resolution, 1)
        self.out = nn.Linear(wide, latent_dim)
        for m in self.modules():        # variance-preserving init: z depends on the image from the first step
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.positions.weight, 1.0 / (resolution * resolution))   # starts as mean pooling

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, h, w, c = values.shape
        if (h, w) != (self.resolution, self.resolution):
            raise ValueError(f"this CNN encoder was built for {self.resolution}x{self.resolution} images, got {h}x{w}")
        m = mask.to(values.dtype)[:, None]                                          # (B, 1, H, W)
        yx = grid((h, w), device=values.device, dtype=values.dtype).T.reshape(1, 2, h, w).expand(b, 2, h, w)
        x = torch.cat([values.permute(0, 3, 1, 2), m, yx], dim=1)                   # (B, C + 3, H, W), masked below
        x, m = self.conv1(x, m)
        x, m = self.conv2(F.relu(x), m)
        x = F.relu(x)
        for block in self.blocks:
            x, m = block(x, m)
        feat = (F.relu(self.pointwise(x)) * m).flatten(2)                           # (B, hidden, H W)
        known = m.flatten(1).mean(1, keepdim=True).clamp_min(1.0 / (h * w))          # (B, 1) fraction known
        return self.out(F.linear(feat, self.positions.weight).squeeze(-1) / known + self.positions.bias)


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
    `layers(params)` splits them into (weights, biases) for `siren_forward` with `self.omegas`. Init: see the
    module docstring (the generated SIRENs start with the SIREN init's spread; `z_scale` sets the share of the
    latent-dependent part).
    """

    def __init__(self, latent_dim: int, in_features: int = 2, out_features: int = 3, hidden_features: int = 256,
                 hidden_layers: int = 3, first_omega_0: float = 30.0, hidden_omega_0: float = 30.0,
                 outermost_linear: bool = True, hyper_hidden: int = 256, hyper_layers: int = 2,
                 z_scale: float = 0.1):
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
                    bound = math.sqrt(3.0) * z_scale * std / math.sqrt(width)
                    last.weight.uniform_(-bound, bound)
                    last.bias.copy_(tensor.detach().flatten())
                self.shapes.append(tuple(tensor.shape))
                self.init_stds.append(std)
                nets.append(net)
        self.nets = nn.ModuleList(nets)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        return [net(z).reshape(z.shape[0], *shape) for net, shape in zip(self.nets, self.shapes)]

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
    encoder_layers residual blocks, resolution x resolution images."""
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


# registry entries (siren.models.build_model): context (B, H, W, C) + mask (B, H, W) -> PriorOutput
PRIOR_BUILDERS = {"hyper_set": build_hyper_set, "hyper_cnn": build_hyper_cnn, "cnp": build_cnp}
