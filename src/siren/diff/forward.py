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
pre-activation buffers reused in place; the products go through `siren.diff.gemm`, oneDNN on CPU); every other
layer uses plain torch ops. The cost is about (d + 2) forward passes plus their backward: no create_graph double
backward, so far fewer FLOPs and much less memory than the autograd reference (`siren.diff.autograd`), with the
same numbers up to floating-point round-off.

When only the gradient is asked for and the network is a SIREN-style chain of SineLayer / nn.Linear layers with
C <= d outputs, d forward tangents cost more matrix products than C reverse sweeps, so that case runs a
hand-written reverse sweep instead (`_SineChainGrad`: value and gradient in one Function, with the "double
backward" written by hand; the same matrix products as autograd, a fraction of its elementwise work and memory).

The results are differentiable w.r.t. the model's parameters (and coords) to first order. The hand-written
backward passes are not themselves differentiable; pass `fused=False` for a plain-torch-ops version that is
differentiable to any order (slower). Speed on CPU: see benchmarks/speed.py; `siren.runtime.tune_allocator()`
removes most of the page-fault cost of the large temporaries.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..models.encodings import FourierFeatures, PositionalEncoding, RBFLayer
from ..models.sine import SineLayer
from . import gemm

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
    """Z[0] = S[0] W^T + b, Z[k] = S[k] W^T for k >= 1, as one product. S (K, N, w_in) contiguous."""
    K, N, w_in = S.shape
    Z = gemm.linear(S.view(-1, w_in), weight, bias if K == 1 else None).view(K, N, weight.shape[0])
    if bias is not None and K > 1:
        Z[0].add_(bias)
    return Z


def _linear_backward(ctx, dZ: torch.Tensor, S: torch.Tensor, weight: torch.Tensor, has_bias: bool, scale: float):
    """Gradients of Z = stacked_linear(S, scale * weight, scale * bias) given dZ (contiguous)."""
    w_out, w_in = dZ.shape[-1], S.shape[-1]
    flat = dZ.view(-1, w_out)
    dS = dW = db = None
    if ctx.needs_input_grad[0]:
        W = weight if scale == 1.0 else weight * scale
        dS = gemm.linear(flat, W.t()).view(S.shape)
    if ctx.needs_input_grad[1]:
        dW = gemm.linear_tn(flat, S.view(-1, w_in))
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


class _SineInputStack(torch.autograd.Function):
    """A first SineLayer fed the coordinates themselves, whose Jacobian is the identity and Laplacian zero:
    with W' = omega W, z = x W'^T + omega b:  h = sin z,  J_j = cos z * W'[:, j],  L = -sin z * sum_j W'[:, j]^2.
    x (N, d) -> (K, N, w) with K = 1 + nj + lap; no (N, d) x (d, w) products for the J and L blocks."""

    @staticmethod
    def forward(ctx, x, weight, bias, omega, nj, lap):
        W = weight * omega
        z = gemm.linear(x, W, None if bias is None else bias * omega)
        N, w = z.shape
        out = z.new_empty(1 + nj + int(lap), N, w)
        s = out[0]
        torch.sin(z, out=s)
        c = torch.cos(z, out=z)
        Wc = W.t()                                              # (d, w): row j is W'[:, j]
        if nj:
            torch.mul(c, Wc[:, None, :], out=out[1:1 + nj])
        q = Wc.square().sum(0) if lap else None
        if lap:
            torch.mul(s, q, out=out[-1]).neg_()
        ctx.omega, ctx.nj, ctx.lap, ctx.has_bias = omega, nj, lap, bias is not None
        ctx.save_for_backward(x, weight, c, out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        x, weight, c, out = ctx.saved_tensors
        nj, lap, omega = ctx.nj, ctx.lap, ctx.omega
        W = weight * omega
        Wc = W.t()
        s = out[0]
        dz = torch.mul(G[0], c)
        dWc = None                                              # dL/dW' through the J and L blocks, (d, w)
        if nj:
            GJ = G[1:1 + nj]
            u = torch.mul(GJ[0], Wc[0])
            for j in range(1, nj):
                u.addcmul_(GJ[j], Wc[j])
            dz.addcmul_(s, u, value=-1.0)                       # d(cos z W'_j)/dz = -sin z W'_j
            dWc = torch.mul(GJ, c).sum(1)                       # d(cos z W'_j)/dW'_j = cos z
        if lap:
            GL = G[-1]
            q = Wc.square().sum(0)
            t = torch.mul(GL, c)
            dz.addcmul_(t, q, value=-1.0)                       # d(-sin z q)/dz = -cos z q
            gq = torch.mul(GL, s).sum(0).neg_()                 # dL/dq
            dWc = dWc.addcmul_(Wc, gq, value=2.0)               # dq/dW'_j = 2 W'_j
        dx = dW = db = None
        if ctx.needs_input_grad[0]:
            dx = gemm.linear(dz, W.t())
        if ctx.needs_input_grad[1]:
            dW = gemm.linear_tn(dz, x)
            if dWc is not None:
                dW = dW + dWc.t()
            dW = dW.mul_(omega)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = dz.sum(0).mul_(omega)
        return dx, dW, db, None, None, None


class _SineChainGrad(torch.autograd.Function):
    """Value and input gradient of a chain of SineLayer / nn.Linear layers by a hand-written reverse sweep, with a
    hand-written backward (the "double backward" of the autograd reference, without its graph).

    With W_k, b_k already scaled by omega_k (1 for a Linear layer) and act_k = sin or identity:
      forward sweep   z_k = h_{k-1} W_k^T + b_k,  h_k = act_k(z_k),  y = h_n;
      gradient sweep  a_n = e_c (one block per output channel c),  delta_k = a_k * act_k'(z_k),
                      a_{k-1} = delta_k W_k,  so a_0[c] = dy_c/dx.
    Backward reverses the gradient sweep (k = 1..n), then the forward sweep (k = n..1); act'' = -sin enters only
    through z_k. GEMM count equals autograd's, with far fewer elementwise passes and no graph.
    Inputs: x (N, d), spec (tuple of (is_sine, omega) per layer), then weight_1, bias_1, ..., weight_n, bias_n.
    Outputs: y (N, C), grad (C, N, d)."""

    @staticmethod
    def forward(ctx, x, spec, *params):
        hs, cs = [x], []
        h = x
        for k, (sine, omega) in enumerate(spec):
            W, b = params[2 * k], params[2 * k + 1]
            if omega != 1.0:
                W, b = W * omega, (None if b is None else b * omega)
            z = gemm.linear(h, W, b)
            if sine:
                h = torch.sin(z)
                cs.append(torch.cos(z, out=z))             # z is not needed once sin and cos are known
            else:
                h = z
                cs.append(None)
            hs.append(h)
        y = h
        N, C = y.shape
        a = torch.eye(C, dtype=y.dtype, device=y.device)[:, None, :].expand(C, N, C).contiguous()
        a_s, deltas = [None] * len(spec), [None] * len(spec)
        for k in range(len(spec) - 1, -1, -1):
            sine, omega = spec[k]
            W = params[2 * k] if omega == 1.0 else params[2 * k] * omega
            a_s[k] = a
            delta = a * cs[k] if sine else a
            deltas[k] = delta
            a = gemm.linear(delta.reshape(-1, W.shape[0]), W.t()).view(C, N, W.shape[1])   # a_{k-1}: (C, N, w_{k-1})
        ctx.set_materialize_grads(False)
        ctx.spec = spec
        ctx.has_bias = [params[2 * k + 1] is not None for k in range(len(spec))]
        ctx.save_for_backward(*hs, *[t for t in cs if t is not None], *a_s, *deltas,
                              *[params[2 * k] for k in range(len(spec))])
        return y, a

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, ybar, gbar):
        spec, n = ctx.spec, len(ctx.spec)
        saved = list(ctx.saved_tensors)
        hs, saved = saved[:n + 1], saved[n + 1:]
        n_sine = sum(1 for s, _ in spec if s)
        cos_it, saved = iter(saved[:n_sine]), saved[n_sine:]
        cs = [next(cos_it) if s else None for s, _ in spec]
        a_s, deltas, weights = saved[:n], saved[n:2 * n], saved[2 * n:]
        Ws = [w if om == 1.0 else w * om for w, (_, om) in zip(weights, spec)]
        dW = [None] * n
        zbar = [None] * n                  # sum_c dL/d delta_k * a_k: enters dL/dz_k as -sin(z_k) * zbar_k
        # reverse of the gradient sweep, k = 1..n
        if gbar is not None:
            abar = gbar.contiguous()                         # dL/da_{k-1}: (C, N, w_{k-1})
            for k in range(n):
                sine = spec[k][0]
                w_out, w_in = Ws[k].shape
                dW[k] = gemm.linear_tn(deltas[k].reshape(-1, w_out), abar.reshape(-1, w_in))
                if not sine and k == n - 1:
                    break                                    # a_n is constant
                dbar = gemm.linear(abar.reshape(-1, w_in), Ws[k]).view(*abar.shape[:-1], w_out)  # dL/d delta_k
                if sine:
                    t = dbar * a_s[k]
                    zbar[k] = t.sum(0) if t.shape[0] > 1 else t[0]
                    if k == n - 1:
                        break
                    abar = dbar.mul_(cs[k])                  # dL/da_k
                else:
                    abar = dbar
        # reverse of the forward sweep, k = n..1
        hbar, db = ybar, [None] * n
        for k in range(n - 1, -1, -1):
            if spec[k][0]:
                if hbar is None:
                    zb = None
                else:                                           # hbar is ours (a fresh product) except at the top
                    zb = hbar * cs[k] if hbar is ybar else hbar.mul_(cs[k])
                if zbar[k] is not None:                      # d(a * cos z)/dz = -a sin z
                    s = hs[k + 1]
                    zb = torch.mul(zbar[k], s).neg_() if zb is None else zb.addcmul_(zbar[k], s, value=-1.0)
            else:
                zb = hbar
            if zb is None:
                continue
            gW = gemm.linear_tn(zb, hs[k])
            dW[k] = gW if dW[k] is None else dW[k].add_(gW)
            if ctx.has_bias[k]:
                db[k] = zb.sum(0)
            hbar = gemm.linear(zb, Ws[k].t()) if (k > 0 or ctx.needs_input_grad[0]) else None
        dx = hbar if ctx.needs_input_grad[0] else None
        grads = []
        for k, (_, om) in enumerate(spec):
            gW, gb = dW[k], db[k]
            if om != 1.0:
                gW = None if gW is None else gW.mul_(om)
                gb = None if gb is None else gb.mul_(om)
            if gW is None:
                gW = torch.zeros_like(weights[k])
            grads += [gW, gb]
        return (dx, None, *grads)


# ---------------------------------------------------------------------------------------------------------------
# Plain-ops layers (differentiable to any order through autograd).
# ---------------------------------------------------------------------------------------------------------------

def _linear_plain(S, weight, bias):
    Z = torch.matmul(S, weight.t())
    if bias is None:
        return Z
    return torch.cat([(Z[0] + bias)[None], Z[1:]], dim=0)


def _split(Z, nj, lap):
    """Stacked Z (1 + nj + lap, ...) -> (z0, ZJ (nj, ...) or None, ZL or None) by one split, whose backward is one
    cat (a select or slice backward would zero-fill and copy the whole stack once per block). lap implies nj."""
    parts = Z.split([1] + ([nj] if nj else []) + ([1] if lap else []))
    return parts[0][0], (parts[1] if nj else None), (parts[2][0] if lap else None)


def _apply_elementwise(f0, f1, f2, ZJ, ZL):
    """Stacked output of an elementwise f given f(z0), f'(z0), f''(z0) (f2 None when f'' = 0) and the Jacobian and
    Laplacian blocks ZJ, ZL of the pre-activation (None when not propagated)."""
    blocks = [f0[None]]
    if ZJ is not None:
        blocks.append(f1 * ZJ)
    if ZL is not None:
        L = f1 * ZL
        if f2 is not None:
            L = L + f2 * ZJ.square().sum(0)
        blocks.append(L[None])
    return torch.cat(blocks, dim=0) if len(blocks) > 1 else blocks[0]


def _activation_derivatives(module: nn.Module, z: torch.Tensor, order: int):
    """f(z) and, up to `order` (0, 1 or 2), f'(z), f''(z) as autograd itself differentiates the module (None when
    not asked for, and f'' None when identically zero). f is evaluated out of place even for inplace=True modules
    (z may be a view of the stacked state)."""
    need1, need2 = order >= 1, order >= 2
    if isinstance(module, nn.ReLU):
        return torch.relu(z), ((z > 0).to(z.dtype) if need1 else None), None
    if isinstance(module, nn.Tanh):
        t = torch.tanh(z)
        d1 = 1 - t * t if need1 else None
        return t, d1, (-2 * t * d1 if need2 else None)
    if isinstance(module, nn.Sigmoid):
        s = torch.sigmoid(z)
        d1 = s * (1 - s) if need1 else None
        return s, d1, (d1 * (1 - 2 * s) if need2 else None)
    if isinstance(module, nn.Softplus):
        f = F.softplus(z, module.beta, module.threshold)
        if not need1:
            return f, None, None
        linear_part = z * module.beta > module.threshold
        s = torch.sigmoid(z * module.beta)
        d1 = torch.where(linear_part, torch.ones_like(s), s)
        d2 = torch.where(linear_part, torch.zeros_like(s), module.beta * s * (1 - s)) if need2 else None
        return f, d1, d2
    if isinstance(module, (nn.ELU, nn.SELU)):
        f = F.elu(z, module.alpha) if isinstance(module, nn.ELU) else F.selu(z)
        if not need1:
            return f, None, None
        alpha, scale = (module.alpha, 1.0) if isinstance(module, nn.ELU) else (_SELU_ALPHA, _SELU_SCALE)
        pos = z > 0
        e = scale * alpha * torch.exp(z)
        d1 = torch.where(pos, torch.full_like(z, scale), e)
        d2 = torch.where(pos, torch.zeros_like(z), e) if need2 else None
        return f, d1, d2
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

def _propagate(layers, x, S, nj, lap, fused):
    for i, m in enumerate(layers):
        if isinstance(m, SineLayer):
            w, b = m.linear.weight, m.linear.bias
            if fused and i == 0:
                S = _SineInputStack.apply(x.contiguous(), w, b, m.omega_0, nj, lap)
            elif fused:
                S = _SineStack.apply(S.contiguous(), w, b, m.omega_0, nj, lap)
            else:
                z, ZJ, ZL = _split(_linear_plain(S, w, b) * m.omega_0, nj, lap)
                S = _apply_elementwise(torch.sin(z), torch.cos(z), -torch.sin(z), ZJ, ZL)
        elif isinstance(m, nn.Linear):
            S = (_LinearStack.apply(S.contiguous(), m.weight, m.bias) if fused
                 else _linear_plain(S, m.weight, m.bias))
        elif isinstance(m, _ELEMENTWISE):
            if nj:
                z, ZJ, ZL = _split(S, nj, lap)
                f0, f1, f2 = _activation_derivatives(m, z, order=2 if lap else 1)
                S = _apply_elementwise(f0, f1, f2, ZJ, ZL)
            else:                                               # value only: the activation of the whole state
                S = _activation_derivatives(m, S, order=0)[0]
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


def _sine_chain_spec(layers):
    """(is_sine, omega) per layer when every layer is a SineLayer or nn.Linear, else None."""
    spec = []
    for m in layers:
        if type(m) is SineLayer:
            spec.append((True, float(m.omega_0)))
        elif type(m) is nn.Linear:
            spec.append((False, 1.0))
        else:
            return None
    return tuple(spec)


def _out_features(layers) -> int | None:
    for m in reversed(layers):
        if isinstance(m, SineLayer):
            return m.linear.out_features
        if isinstance(m, nn.Linear):
            return m.out_features
    return None


def forward_derivatives(model: nn.Module, coords: torch.Tensor, gradient: bool = True, laplacian: bool = False,
                        fused: bool = True, strategy: str = "auto"):
    """Value, input gradient and Laplacian of `model` in one pass, without autograd's double backward.

    coords: (N, d) (or (..., d)).  Returns (value (N, C), gradient (N, C, d) or None, laplacian (N, C) or None),
    where gradient[n, c, i] = d value_c / d x_i and laplacian[n, c] = sum_i d2 value_c / d x_i2 at point n.
    The Jacobian blocks are propagated only when the gradient or the Laplacian is asked for, the Laplacian block
    only when asked for. Differentiable w.r.t. the parameters (and coords) to first order.

    strategy: "taylor" propagates (h, J, L) forward (cost ~ d + 2 forward passes); "reverse" (gradient only, SIREN /
    Linear chains, fused) computes the gradient by a hand-written reverse sweep with a hand-written backward
    (cost ~ 1 + C passes, cheaper when C <= d); "auto" picks reverse for a gradient-only request on such a chain
    with C <= d, else taylor. `fused=False` uses plain torch ops only (taylor; differentiable to any order, slower).
    Raises ValueError when `supports_forward(model)` is False.
    """
    if not supports_forward(model):
        raise ValueError(f"forward-mode derivatives do not support {type(model).__name__} "
                         "(need model.net = nn.Sequential of Linear/SineLayer/encodings/elementwise activations; "
                         "use mode='autograd')")
    if strategy not in ("auto", "taylor", "reverse"):
        raise ValueError(f"unknown strategy {strategy!r} (choose auto, taylor or reverse)")
    layers = _layers(model)
    lead, d = coords.shape[:-1], coords.shape[-1]
    x = coords.reshape(-1, d)
    N = x.shape[0]
    if gradient and not laplacian and fused and strategy != "taylor":
        spec = _sine_chain_spec(layers)
        if spec is None and strategy == "reverse":
            raise ValueError("strategy='reverse' needs a chain of SineLayer/nn.Linear layers")
        if spec is not None and (strategy == "reverse" or _out_features(layers) <= d):
            params = [t for m in layers for t in ((m.linear.weight, m.linear.bias) if isinstance(m, SineLayer)
                                                  else (m.weight, m.bias))]
            y, g = _SineChainGrad.apply(x.contiguous(), spec, *params)
            C = y.shape[-1]
            return y.reshape(*lead, C), g.permute(1, 0, 2).reshape(*lead, C, d), None
    elif strategy == "reverse":
        raise ValueError("strategy='reverse' computes the gradient only (fused, without the Laplacian)")
    nj = d if (gradient or laplacian) else 0
    if fused and isinstance(layers[0], SineLayer):
        S = None                                                # the first layer starts from x itself
    else:
        blocks = [x[None]]
        if nj:
            blocks.append(torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, N, d))
        if laplacian:
            blocks.append(x.new_zeros(1, N, d))
        S = torch.cat(blocks, 0) if len(blocks) > 1 else x[None]
    S = _propagate(layers, x, S, nj, laplacian, fused)
    C = S.shape[-1]
    value = S[0].reshape(*lead, C)
    grad = S[1:1 + d].permute(1, 2, 0).reshape(*lead, C, d) if gradient else None
    lap = S[-1].reshape(*lead, C) if laplacian else None
    return value, grad, lap
