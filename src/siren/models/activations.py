"""Activations as data: each is f, its derivatives to third order, and the init of the linear layer that feeds it.

An `Activation` is an elementwise nn.Module z -> f(z) (drop it into any network) that states:

    fn(z)                f, written with `siren.models.taylor`'s functions (sin, cos, exp, ...) and arithmetic, so
                         the same code evaluates f on a tensor and its derivatives on a `Taylor`
    taylor(z, order)     (f(z), f'(z), ..., f^(order)(z)), order <= 3; by default composed from `fn` (Taylor
                         arithmetic, or nested forward-mode autodiff for other torch ops); the built-ins give theirs
                         by hand (fewer passes). None stands for a derivative that is identically zero.
    init_(linear, first) the weight init of a linear layer whose output it activates (first: the network's first
                         layer); the default keeps PyTorch's
    sine_frequency       omega when f(z) = sin(omega z) exactly (siren.diff then uses its fused sine kernels)

`siren.diff`'s forward mode reads nothing else, so a new family is one Activation (and `register_family`).

Built-ins, with z the pre-activation W h + b and n the layer's fan-in:
    Sine(omega)          sin(omega z)                        SIREN: W ~ U(-1/n, 1/n) first, U(+-sqrt(6/n)/omega) after
    FinerSine(omega)     sin(omega (|z| + 1) z)              FINER: SIREN's init (|z|'s kink: sign(0) = 0, as autograd)
    Gaussian(scale)      exp(-(scale z)^2)                   PyTorch's init
    Gabor(omega, scale)  cos(omega z) exp(-(scale z)^2)      WIRE's real Gabor wavelet; PyTorch's init
    ReLU, Tanh, Sigmoid, Softplus, ELU, SELU                 the paper's baselines: Kaiming normal (relu, softplus),
                                                             Xavier normal (tanh, sigmoid), N(0, 1/n) selu,
                                                             N(0, 1.5505/n) elu
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import taylor as T

__all__ = ["Activation", "Sine", "FinerSine", "Gaussian", "Gabor", "ReLU", "Tanh", "Sigmoid", "Softplus", "ELU",
           "SELU", "siren_uniform_", "BASELINES"]


@torch.no_grad()
def siren_uniform_(weight: torch.Tensor, first: bool, omega_0: float) -> torch.Tensor:
    """In place: W ~ U(-1/n, 1/n) if `first`, else U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0); n = fan-in."""
    n = weight.shape[1]
    bound = 1.0 / n if first else math.sqrt(6.0 / n) / omega_0
    return weight.uniform_(-bound, bound)


class Activation(nn.Module):
    """Base class (see the module docstring). Subclasses define `fn` (and may give `taylor` and `init_`)."""

    sine_frequency: float | None = None

    def fn(self, z):
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z)

    def taylor(self, z: torch.Tensor, order: int) -> tuple:
        """(f(z), f'(z), ..., f^(order)(z)), elementwise; None for an identically zero derivative."""
        return T.derivatives_of(self.fn, z, order)

    def init_(self, linear: nn.Linear, first: bool) -> None:
        """Initialise the weights of `linear`, whose output this activation receives (default: PyTorch's)."""


class Sine(Activation):
    """sin(omega_0 z): SIREN's activation. Feeding layers get SIREN's init: W ~ U(-1/n, 1/n) for the first layer,
    U(+-sqrt(6/n)/omega_0) after it (n = fan-in). The init assumes inputs spread like U(-1, 1) (coordinates in
    [-1, 1]) and keeps every later pre-activation ~ N(0, 1) in units of 1/omega_0: it does not hold after a
    normalization layer or on unscaled inputs."""

    def __init__(self, omega_0: float = 30.0):
        super().__init__()
        self.omega_0 = float(omega_0)

    @property
    def sine_frequency(self) -> float:
        return self.omega_0

    def fn(self, z):
        return T.sin(self.omega_0 * z)

    def taylor(self, z, order):
        w = self.omega_0
        s = torch.sin(w * z)
        if not order:
            return (s,)
        c = torch.cos(w * z)
        return (s, w * c, (-w * w) * s, (-w ** 3) * c)[:order + 1]

    def init_(self, linear, first):
        siren_uniform_(linear.weight, first, self.omega_0)

    def extra_repr(self) -> str:
        return f"omega_0={self.omega_0}"


class FinerSine(Sine):
    """sin(omega_0 (|z| + 1) z): FINER's variable-periodic activation, SIREN's init. With u = omega (|z| + 1) z,
    du = omega (2|z| + 1): f' = du cos u, f'' = -du^2 sin u + 2 omega sign(z) cos u,
    f''' = -du^3 cos u - 6 omega sign(z) du sin u (sign(0) = 0, as autograd differentiates |z|).
    bias_scale k: the first layer's bias ~ U(-k, k) (FINER's knob for the starting spectrum), else PyTorch's."""

    sine_frequency = None

    def __init__(self, omega_0: float = 30.0, bias_scale: float | None = None):
        super().__init__(omega_0)
        self.bias_scale = bias_scale

    def init_(self, linear, first):
        super().init_(linear, first)
        if first and self.bias_scale is not None:
            with torch.no_grad():
                linear.bias.uniform_(-self.bias_scale, self.bias_scale)

    def fn(self, z):
        return T.sin(self.omega_0 * (z.abs() + 1) * z)

    def taylor(self, z, order):
        w, a = self.omega_0, z.abs()
        u = w * (a + 1) * z
        s = torch.sin(u)
        if not order:
            return (s,)
        c, du = torch.cos(u), w * (2 * a + 1)
        if order < 2:
            return s, c * du
        sg = torch.sign(z)
        f2 = c * (2 * w) * sg - s * du * du
        if order < 3:
            return s, c * du, f2
        return s, c * du, f2, -(c * du * du * du) - (6 * w) * sg * du * s


class Gaussian(Activation):
    """exp(-(scale z)^2); g' = -2 s^2 z g, g'' = 2 s^2 (2 (s z)^2 - 1) g, g''' = 4 s^4 z (3 - 2 (s z)^2) g."""

    def __init__(self, scale: float = 10.0):
        super().__init__()
        self.scale = float(scale)

    def fn(self, z):
        return T.exp(-(self.scale * z) ** 2)

    def taylor(self, z, order):
        s2 = self.scale ** 2
        g = torch.exp(-s2 * z * z)
        if not order:
            return (g,)
        g1 = -2 * s2 * z * g
        if order < 2:
            return g, g1
        g2 = 2 * s2 * (2 * s2 * z * z - 1) * g
        return (g, g1, g2) if order < 3 else (g, g1, g2, 4 * s2 * s2 * z * (3 - 2 * s2 * z * z) * g)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class Gabor(Gaussian):
    """cos(omega_0 z) g, g = exp(-(scale z)^2), by Leibniz: f' = cos g' - omega sin g,
    f'' = cos (g'' - omega^2 g) - 2 omega sin g', f''' = cos (g''' - 3 omega^2 g') + sin (omega^3 g - 3 omega g'')."""

    def __init__(self, omega_0: float = 20.0, scale: float = 10.0):
        super().__init__(scale)
        self.omega_0 = float(omega_0)

    def fn(self, z):
        return T.cos(self.omega_0 * z) * T.exp(-(self.scale * z) ** 2)

    def taylor(self, z, order):
        gs = super().taylor(z, order)
        w = self.omega_0
        c = torch.cos(w * z)
        if not order:
            return (c * gs[0],)
        g, g1 = gs[:2]
        sn = torch.sin(w * z)
        out = (c * g, c * g1 - w * sn * g)
        if order > 1:
            out += (c * (gs[2] - w * w * g) - 2 * w * sn * g1,)
        if order > 2:
            out += (c * (gs[3] - 3 * w * w * g1) + sn * (w ** 3 * g - 3 * w * gs[2]),)
        return out

    def extra_repr(self) -> str:
        return f"omega_0={self.omega_0}, scale={self.scale}"


class _Baseline(Activation):
    """An activation of the paper's baselines, with its weight init (Kaiming or Xavier normal, or N(0, gain/n))."""

    kaiming = xavier = False
    gain: float = 0.0

    @torch.no_grad()
    def init_(self, linear, first):
        w = linear.weight
        if self.kaiming:
            nn.init.kaiming_normal_(w, nonlinearity="relu", mode="fan_in")
        elif self.xavier:
            nn.init.xavier_normal_(w)
        else:
            w.normal_(0.0, math.sqrt(self.gain / w.shape[1]))


class ReLU(_Baseline):
    """max(z, 0); f' = [z > 0], f'' = 0."""
    kaiming = True

    def fn(self, z):
        return torch.relu(z)

    def taylor(self, z, order):
        return (torch.relu(z), (z > 0).to(z.dtype), None, None)[:order + 1]


class Tanh(_Baseline):
    """tanh z; f' = 1 - t^2, f'' = -2 t f', f''' = f' (6 t^2 - 2)."""
    xavier = True

    def fn(self, z):
        return T.tanh(z)


class Sigmoid(_Baseline):
    """s = 1 / (1 + e^-z); f' = s (1 - s), f'' = f' (1 - 2 s), f''' = f' (1 - 6 f')."""
    xavier = True

    def fn(self, z):
        return T.sigmoid(z)


class Softplus(_Baseline):
    """log(1 + e^(beta z)) / beta, linear above z beta > threshold (PyTorch's); f' = sigmoid(beta z) (1 there),
    f'' = beta f' (1 - f') (0 there)."""
    kaiming = True

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def fn(self, z):
        return F.softplus(z, self.beta, self.threshold)

    def taylor(self, z, order):
        f = self.fn(z)
        if not order:
            return (f,)
        linear_part = z * self.beta > self.threshold
        s = torch.sigmoid(z * self.beta)
        d1 = torch.where(linear_part, torch.ones_like(s), s)
        if order < 2:
            return f, d1
        d2 = torch.where(linear_part, torch.zeros_like(s), self.beta * s * (1 - s))
        if order < 3:
            return f, d1, d2
        return f, d1, d2, torch.where(linear_part, torch.zeros_like(s), self.beta ** 2 * s * (1 - s) * (1 - 2 * s))


class ELU(_Baseline):
    """z for z > 0, else alpha (e^z - 1), times `scale` (SELU: PyTorch's alpha and scale); f' = scale (1 or
    alpha e^z), f'' = f''' = scale (0 or alpha e^z)."""
    gain = 1.5505

    def __init__(self, alpha: float = 1.0, scale: float = 1.0):
        super().__init__()
        self.alpha, self.scale = alpha, scale

    def fn(self, z):
        return F.elu(z, self.alpha)

    def taylor(self, z, order):
        f = self.fn(z)
        if not order:
            return (f,)
        e = self.scale * self.alpha * torch.exp(z)
        pos = z > 0
        d1 = torch.where(pos, torch.full_like(z, self.scale), e)
        d2 = torch.where(pos, torch.zeros_like(z), e)
        return (f, d1, d2, d2)[:order + 1]


class SELU(ELU):
    """PyTorch's SELU: ELU with alpha 1.6733 and scale 1.0507."""
    gain = 1.0

    def __init__(self):
        super().__init__(1.6732632423543772848170429916717, 1.0507009873554804934193349852946)

    def fn(self, z):
        return F.selu(z)


BASELINES = {"relu": ReLU, "tanh": Tanh, "softplus": Softplus, "elu": ELU, "selu": SELU, "sigmoid": Sigmoid}
