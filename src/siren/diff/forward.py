"""Forward-mode (Taylor) derivatives: value, input gradient and Laplacian of a coordinate MLP in one pass.

For a network Phi = f_n o ... o f_1 and input x (N, d), every layer maps the triple

    h (N, w)        the value,
    J (N, d, w)     dh/dx_j for each input direction j,
    L (N, w)        sum_j d2h/dx_j2,

to the next one. Linear layers act on all three alike (the bias only on h):  h -> W h + b, J -> J W^T, L -> L W^T.
An elementwise activation f with pre-activation z gives  h' = f(z),  J'_j = f'(z) J_j,
L' = f'(z) L + f''(z) sum_j J_j^2.  A SineLayer is z = omega (W h + b), f = sin. The encodings
(PositionalEncoding, FourierFeatures, RBFLayer) are propagated exactly by the same chain rule.

The three are kept stacked in one tensor S of shape (K, N, w): S[0] = h, S[1:1+d] = J_1..J_d (when the gradient or
Laplacian is asked for), S[-1] = L (when the Laplacian is asked for). A linear layer is then ONE matrix product
(K N, w_in) x (w_in, w_out) instead of 1 + d + 1 small ones. SineLayer and nn.Linear run as custom autograd
Functions whose backward is written by hand (sin and cos computed once, only what the backward needs saved, the
pre-activation buffers reused in place); every other layer uses plain torch ops. The cost is about (d + 2) forward
passes plus their backward: no create_graph double backward, so far fewer FLOPs and much less memory than the
autograd reference (`siren.diff.autograd`), with the same numbers up to floating-point round-off.

The results are differentiable w.r.t. the model's parameters (and coords) to first order. The hand-written
backward passes are not themselves differentiable; pass `fused=False` for a plain-torch-ops version that is
differentiable to any order (slower).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..models.encodings import FourierFeatures, PositionalEncoding, RBFLayer
from ..models.sine import SineLayer

__all__ = ["supports_forward", "forward_derivatives"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.ELU, nn.SELU)
_KNOWN = (nn.Linear, SineLayer, PositionalEncoding, FourierFeatures, RBFLayer, nn.Identity) + _ELEMENTWISE


def _layers(model: nn.Module):
    net = getattr(model, "net", model)
    return list(net) if isinstance(net, nn.Sequential) else None


def supports_forward(model: nn.Module) -> bool:
    """True when every module of `model.net` (an nn.Sequential) is a layer type this module can propagate exactly:
    nn.Linear, SineLayer, PositionalEncoding, FourierFeatures, RBFLayer, nn.Identity and the elementwise activations
    ReLU, Tanh, Sigmoid, Softplus, ELU, SELU. Subclasses do not count (they may change `forward`)."""
    layers = _layers(model)
    return bool(layers) and all(type(m) in _KNOWN for m in layers)


# ---------------------------------------------------------------------------------------------------------------
# Fused layers: custom autograd Functions with hand-written backward on the stacked (K, N, w) layout.
# nj = number of Jacobian blocks (0 or d), lap = whether the last block is the Laplacian.
# ---------------------------------------------------------------------------------------------------------------

def _stacked_linear(S: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Z[0] = S[0] W^T + b, Z[k] = S[k] W^T for k >= 1, written without a copy. S (K, N, w_in) contiguous."""
    K, N, w_in = S.shape
    Z = S.new_empty(K, N, weight.shape[0])
    if bias is None:
        torch.mm(S.view(-1, w_in), weight.t(), out=Z.view(-1, Z.shape[-1]))
    else:
        torch.addmm(bias, S[0], weight.t(), out=Z[0])
        if K > 1:
            torch.mm(S[1:].view(-1, w_in), weight.t(), out=Z[1:].view(-1, Z.shape[-1]))
    return Z


def _linear_backward(ctx, dZ: torch.Tensor, S: torch.Tensor, weight: torch.Tensor, has_bias: bool, scale: float):
    """Gradients of Z = stacked_linear(S, scale * weight, scale * bias) given dZ (contiguous)."""
    w_out, w_in = dZ.shape[-1], S.shape[-1]
    flat = dZ.view(-1, w_out)
    dS = dW = db = None
    if ctx.needs_input_grad[0]:
        W = weight if scale == 1.0 else weight * scale
        dS = torch.mm(flat, W).view(S.shape)
    if ctx.needs_input_grad[1]:
        dW = torch.mm(flat.t(), S.view(-1, w_in))
        if scale != 1.0:
            dW.mul_(scale)
    if has_bias and ctx.needs_input_grad[2]:
        db = dZ[0].sum(0)
        if scale != 1.0:
            db.mul_(scale)
    return dS, dW, db


class _LinearStack(torch.autograd.Function):
    """nn.Linear on the stacked layout: S (K, N, w_in) -> (K, N, w_out); the bias only on block 0."""

    @staticmethod
    def forward(ctx, S, weight, bias):
        ctx.save_for_backward(S, weight)
        ctx.has_bias = bias is not None
        return _stacked_linear(S, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dZ):
        S, weight = ctx.saved_tensors
        return _linear_backward(ctx, dZ.contiguous(), S, weight, ctx.has_bias, 1.0)


class _SineStack(torch.autograd.Function):
    """SineLayer on the stacked layout: z = omega (W h + b); h' = sin z, J' = cos z * (omega J W^T),
    L' = cos z * (omega L W^T) - sin z * sum_j (omega J_j W^T)^2.  S (K, N, w_in) -> (K, N, w_out).

    omega is folded into W and b, so the whole stack is one GEMM. Saved for backward: the input S, the
    pre-activation blocks (block 0 reused to hold q = sum_j Z_j^2), cos z, and the output (whose block 0 is sin z)."""

    @staticmethod
    def forward(ctx, S, weight, bias, omega, nj, lap):
        Z = _stacked_linear(S, weight * omega, None if bias is None else bias * omega)
        out = torch.empty_like(Z)
        s = out[0]
        torch.sin(Z[0], out=s)
        c = torch.cos(Z[0])
        if nj:
            torch.mul(Z[1:1 + nj], c, out=out[1:1 + nj])
        if lap:
            q = Z[0]                                  # z itself is no longer needed: sin and cos are kept
            torch.mul(Z[1], Z[1], out=q)
            for j in range(2, 1 + nj):
                q.addcmul_(Z[j], Z[j])
            L = out[-1]
            torch.mul(Z[-1], c, out=L)
            L.addcmul_(s, q, value=-1.0)
        ctx.omega, ctx.nj, ctx.lap, ctx.has_bias = omega, nj, lap, bias is not None
        ctx.save_for_backward(S, weight, Z, c, out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        S, weight, Z, c, out = ctx.saved_tensors
        nj, lap = ctx.nj, ctx.lap
        G = G.contiguous()
        s = out[0]
        dZ = torch.empty_like(Z)
        dz = dZ[0]
        if lap:
            GJ, GL, ZJ, ZL, q = G[1:1 + nj], G[-1], Z[1:1 + nj], Z[-1], Z[0]
            dZL = dZ[-1]
            torch.mul(GL, c, out=dZL)                            # dL'/dZ_L = cos z
            t = torch.mul(GL, s)
            dZJ = dZ[1:1 + nj]
            torch.mul(GJ, c, out=dZJ)                            # dJ'/dZ_J = cos z
            dZJ.addcmul_(t, ZJ, value=-2.0)                      # dL'/dZ_J = -2 sin z Z_J
            u = torch.mul(GL, ZL, out=t)                         # reuse t: u = G_L Z_L + sum_j G_j Z_j
            for j in range(nj):
                u.addcmul_(GJ[j], ZJ[j])
            torch.mul(G[0], c, out=dz)                           # d sin z / dz = cos z
            dz.addcmul_(s, u, value=-1.0)                        # d cos z / dz = -sin z
            dz.addcmul_(dZL, q, value=-1.0)                      # d(-sin z q)/dz = -cos z q
        elif nj:
            GJ, ZJ = G[1:1 + nj], Z[1:1 + nj]
            torch.mul(GJ, c, out=dZ[1:1 + nj])
            u = torch.mul(GJ[0], ZJ[0])
            for j in range(1, nj):
                u.addcmul_(GJ[j], ZJ[j])
            torch.mul(G[0], c, out=dz)
            dz.addcmul_(s, u, value=-1.0)
        else:
            torch.mul(G[0], c, out=dz)
        dS, dW, db = _linear_backward(ctx, dZ, S, weight, ctx.has_bias, ctx.omega)
        return dS, dW, db, None, None, None


# ---------------------------------------------------------------------------------------------------------------
# Plain-ops layers (differentiable to any order through autograd).
# ---------------------------------------------------------------------------------------------------------------

def _linear_plain(S, weight, bias):
    Z = torch.matmul(S, weight.t())
    if bias is None:
        return Z
    return torch.cat([(Z[0] + bias)[None], Z[1:]], dim=0)


def _apply_elementwise(Z, f0, f1, f2, nj, lap):
    """Given the stacked pre-activation Z and f(z0), f'(z0), f''(z0) (f2 may be None when f'' = 0): stacked output."""
    blocks = [f0[None]]
    if nj:
        blocks.append(f1 * Z[1:1 + nj])
    if lap:
        L = f1 * Z[-1]
        if f2 is not None:
            L = L + f2 * Z[1:1 + nj].square().sum(0)
        blocks.append(L[None])
    return torch.cat(blocks, dim=0) if len(blocks) > 1 else blocks[0]


def _activation_derivatives(module: nn.Module, z: torch.Tensor, need2: bool):
    """f(z), f'(z), f''(z) as autograd itself differentiates the module (f'' None when identically zero)."""
    if isinstance(module, nn.ReLU):
        return module(z), (z > 0).to(z.dtype), None
    if isinstance(module, nn.Tanh):
        t = torch.tanh(z)
        d1 = 1 - t * t
        return t, d1, (-2 * t * d1 if need2 else None)
    if isinstance(module, nn.Sigmoid):
        s = torch.sigmoid(z)
        d1 = s * (1 - s)
        return s, d1, (d1 * (1 - 2 * s) if need2 else None)
    if isinstance(module, nn.Softplus):
        linear_part = z * module.beta > module.threshold
        s = torch.sigmoid(z * module.beta)
        d1 = torch.where(linear_part, torch.ones_like(s), s)
        d2 = torch.where(linear_part, torch.zeros_like(s), module.beta * s * (1 - s)) if need2 else None
        return module(z), d1, d2
    if isinstance(module, (nn.ELU, nn.SELU)):
        alpha, scale = (module.alpha, 1.0) if isinstance(module, nn.ELU) else (_SELU_ALPHA, _SELU_SCALE)
        pos = z > 0
        e = scale * alpha * torch.exp(z)
        d1 = torch.where(pos, torch.full_like(z, scale), e)
        d2 = torch.where(pos, torch.zeros_like(z), e) if need2 else None
        return module(z), d1, d2
    raise TypeError(f"no derivative rule for {type(module).__name__}")


def _trig_blocks(Z, nj, lap):
    """For the elementwise pair (sin, cos) of a stacked pre-activation Z (K, ...): the stacked sin and cos outputs."""
    z = Z[0]
    s, c = torch.sin(z), torch.cos(z)
    sin_blocks, cos_blocks = [s[None]], [c[None]]
    if nj:
        ZJ = Z[1:1 + nj]
        sin_blocks.append(c * ZJ)
        cos_blocks.append(-s * ZJ)
    if lap:
        q = Z[1:1 + nj].square().sum(0)
        ZL = Z[-1]
        sin_blocks.append((c * ZL - s * q)[None])
        cos_blocks.append((-s * ZL - c * q)[None])
    return torch.cat(sin_blocks, 0), torch.cat(cos_blocks, 0)


def _positional_encoding(m: PositionalEncoding, S, nj, lap):
    Z = S[..., None, :] * m.freqs[:, None]                          # (K, N, F, d_in)
    sin_b, cos_b = _trig_blocks(Z, nj, lap)
    enc = torch.stack([sin_b, cos_b], dim=-2).flatten(-3)           # (K, N, F * 2 * d_in)
    return torch.cat([S, enc], dim=-1)


def _fourier_features(m: FourierFeatures, S, nj, lap):
    Z = 2 * math.pi * S @ m.B.T                                      # (K, N, m)
    sin_b, cos_b = _trig_blocks(Z, nj, lap)
    return torch.cat([cos_b, sin_b], dim=-1)


def _rbf(m: RBFLayer, S, nj, lap):
    """y_k = exp(-a_k r_k), r_k = |h - c_k|^2, a_k = sigma_k^2:  J_y = -a y J_r,  L_y = -a y L_r + a^2 y sum_j J_r^2,
    with J_r = 2 (h - c_k) . J_j and L_r = 2 sum_j |J_j|^2 + 2 (h - c_k) . L."""
    h = S[0]
    diff = h[..., None, :] - m.centres                              # (N, K, d_in)
    a = m.sigmas.pow(2)
    y = torch.exp(-diff.pow(2).sum(-1) * a)                          # exactly the module's forward
    blocks = [y[None]]
    if nj:
        Jr = 2 * torch.einsum("nkd,jnd->jnk", diff, S[1:1 + nj])     # (nj, N, K)
        ay = a * y
        blocks.append(-ay * Jr)
    if lap:
        Lr = 2 * S[1:1 + nj].square().sum((0, -1))[:, None] + 2 * torch.einsum("nkd,nd->nk", diff, S[-1])
        blocks.append((-ay * Lr + ay * a * Jr.square().sum(0))[None])
    return torch.cat(blocks, 0) if len(blocks) > 1 else blocks[0]


# ---------------------------------------------------------------------------------------------------------------

def _propagate(layers, S, nj, lap, fused):
    for m in layers:
        if isinstance(m, SineLayer):
            w, b = m.linear.weight, m.linear.bias
            if fused:
                S = _SineStack.apply(S.contiguous(), w, b, m.omega_0, nj, lap)
            else:
                Z = _linear_plain(S, w, b) * m.omega_0
                z = Z[0]
                S = _apply_elementwise(Z, torch.sin(z), torch.cos(z), -torch.sin(z), nj, lap)
        elif isinstance(m, nn.Linear):
            S = (_LinearStack.apply(S.contiguous(), m.weight, m.bias) if fused
                 else _linear_plain(S, m.weight, m.bias))
        elif isinstance(m, _ELEMENTWISE):
            f0, f1, f2 = _activation_derivatives(m, S[0], need2=lap)
            S = _apply_elementwise(S, f0, f1, f2, nj, lap)
        elif isinstance(m, PositionalEncoding):
            S = _positional_encoding(m, S, nj, lap)
        elif isinstance(m, FourierFeatures):
            S = _fourier_features(m, S, nj, lap)
        elif isinstance(m, RBFLayer):
            S = _rbf(m, S, nj, lap)
        elif isinstance(m, nn.Identity):
            pass
        else:  # pragma: no cover - guarded by supports_forward
            raise TypeError(f"forward mode cannot propagate through {type(m).__name__}")
    return S


def forward_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                        fused: bool = True):
    """Value, input gradient and Laplacian of `model` in one forward-mode pass.

    coords: (N, d) (or (..., d)).  Returns (value (N, C), gradient (N, C, d) or None, laplacian (N, C) or None),
    where gradient[n, c, i] = d value_c / d x_i and laplacian[n, c] = sum_i d2 value_c / d x_i2 at point n.
    The Jacobian blocks are propagated only when the gradient or the Laplacian is asked for, the Laplacian block
    only when asked for. Differentiable w.r.t. the parameters; `fused=False` uses plain torch ops only
    (differentiable to any order, slower). Raises ValueError when `supports_forward(model)` is False.
    """
    if not supports_forward(model):
        raise ValueError(f"forward-mode derivatives do not support {type(model).__name__} "
                         "(need model.net = nn.Sequential of Linear/SineLayer/encodings/elementwise activations; "
                         "use mode='autograd')")
    lead, d = coords.shape[:-1], coords.shape[-1]
    x = coords.reshape(-1, d)
    N = x.shape[0]
    nj = d if (gradient or laplacian) else 0
    blocks = [x[None]]
    if nj:
        blocks.append(torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, N, d))
    if laplacian:
        blocks.append(x.new_zeros(1, N, d))
    S = torch.cat(blocks, 0) if len(blocks) > 1 else x[None]
    S = _propagate(_layers(model), S, nj, laplacian, fused)
    C = S.shape[-1]
    value = S[0].reshape(*lead, C)
    grad = S[1:1 + d].permute(1, 2, 0).reshape(*lead, C, d) if gradient else None
    lap = S[-1].reshape(*lead, C) if laplacian else None
    return value, grad, lap
