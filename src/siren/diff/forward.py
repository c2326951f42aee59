"""Forward-mode (Taylor) derivatives: value, input gradient and second-derivative blocks of a coordinate MLP in one
pass.

For a network Phi = f_n o ... o f_1 and input x (N, d), every layer maps the jet

    h (N, w)          the value,
    J (N, d, w)       dh/dx_j for each input direction j,
    B_k (N, w)        second-order blocks: B_k = sum over the index pairs (i, j) of block k of d2h/dx_i dx_j
                      (a Laplacian over an axis group g is the block {(i, i): i in g}; a Hessian entry one pair;
                      see `siren.diff.request`),

to the next one. Linear layers act on all of them alike (the bias only on h): h -> W h + b, J -> J W^T,
B -> B W^T. An elementwise activation f with pre-activation z gives

    h' = f(z),   J'_j = f'(z) J_j,   B'_k = f'(z) B_k + f''(z) q_k,   q_k = sum over the pairs (i, j) of J_i J_j.

A SineLayer is z = omega (W h + b), f = sin (f' = cos, f'' = -sin). FinerLayer, GaussLayer and GaborLayer are
z = W h + b and their f (`_LAYER_ACTIVATIONS`): the Linear rule, then the elementwise one. The encodings
(PositionalEncoding, FourierFeatures, RBFLayer) are propagated exactly by the same chain rule. `_RULES` is the one
table of layer types and how each propagates the jet.

The jet is kept stacked in one tensor S of shape (K, N, w): S[0] = h, S[1:1+d] = J_1..J_d (when any derivative is
asked for), S[1+d+k] = B_k. A linear layer is then ONE matrix product (K N, w_in) x (w_in, w_out) instead of K
small ones. SineLayer and nn.Linear (the linear part of the FINER, Gauss and Gabor layers too) run as custom
autograd Functions whose backward is written by hand (sin and cos computed once, only what the backward needs
saved, the pre-activation buffers reused in place; the products go through `siren.diff.gemm`, oneDNN on CPU);
every other layer (and activation) uses plain torch ops. The cost is about K forward passes plus their backward:
no create_graph double backward, so far fewer FLOPs and much less memory than the autograd reference
(`siren.diff.autograd`), with the same numbers up to floating-point round-off.

When only the gradient is asked for and the network is a SIREN-style chain of SineLayer / nn.Linear layers with
C <= d outputs, d forward tangents cost more matrix products than C reverse sweeps, so that case runs a
hand-written reverse sweep instead (`_ChainGrad`: value and gradient in one Function, with the "double
backward" written by hand; the same matrix products as autograd, a fraction of its elementwise work and memory).

The results are differentiable w.r.t. the model's parameters (and coords) to first order. The hand-written
backward passes are not themselves differentiable; pass `fused=False` for a plain-torch-ops version that is
differentiable to any order (slower). Speed on CPU: see benchmarks/speed.py; `siren.runtime.tune_allocator()`
removes most of the page-fault cost of the large temporaries.
"""
from __future__ import annotations

import functools

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..models.encodings import FourierFeatures, PositionalEncoding, RBFLayer
from ..models.finer import FinerLayer
from ..models.sine import SineLayer
from ..models.wavelets import GaborLayer, GaussLayer
from . import gemm
from .request import Derivatives, Pairs, Request

__all__ = ["supports_forward", "forward_derivatives", "inference"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _layers(model: nn.Module):
    net = getattr(model, "net", model)
    return list(net) if isinstance(net, nn.Sequential) else None


def supports_forward(model: nn.Module) -> bool:
    """True when every module of `model.net` (an nn.Sequential) is a layer type of `_RULES`: nn.Linear, SineLayer,
    FinerLayer, GaussLayer, GaborLayer, PositionalEncoding, FourierFeatures, RBFLayer, nn.Identity and the
    elementwise activations ReLU, Tanh, Sigmoid, Softplus, ELU, SELU. Subclasses do not count (they may change
    `forward`)."""
    layers = _layers(model)
    return bool(layers) and all(type(m) in _RULES for m in layers)


def _quad(ZJ: torch.Tensor, pairs: Pairs, out: torch.Tensor | None = None) -> torch.Tensor:
    """q = sum over the pairs (i, j) of ZJ[i] * ZJ[j]  (ZJ: (d, ...) -> (...)), the f'' factor of a block."""
    (i, j), rest = pairs[0], pairs[1:]
    q = torch.mul(ZJ[i], ZJ[j], out=out)
    for i, j in rest:
        q.addcmul_(ZJ[i], ZJ[j])
    return q


def _quad_backward(dZJ: torch.Tensor, t: torch.Tensor, ZJ: torch.Tensor, pairs: Pairs) -> None:
    """In place: dZJ -= t * dq/dZJ for q = _quad(ZJ, pairs), i.e. t ZJ[j] into row i and t ZJ[i] into row j
    (2 t ZJ[i] for i = j)."""
    diagonal = [i for i, j in pairs if i == j]
    if len(diagonal) == len(pairs) and diagonal == list(range(diagonal[0], diagonal[-1] + 1)):
        a, b = diagonal[0], diagonal[-1] + 1                 # contiguous axes: one batched pass
        dZJ[a:b].addcmul_(t, ZJ[a:b], value=-2.0)
        return
    for i, j in pairs:
        if i == j:
            dZJ[i].addcmul_(t, ZJ[i], value=-2.0)
        else:
            dZJ[i].addcmul_(t, ZJ[j], value=-1.0)
            dZJ[j].addcmul_(t, ZJ[i], value=-1.0)


# ---------------------------------------------------------------------------------------------------------------
# Fused layers: custom autograd Functions with hand-written backward on the stacked (K, N, w) layout.
# nj = number of Jacobian blocks (0 or d), blocks = the second-order blocks (tuple of Pairs).
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
    """SineLayer on the stacked layout: z = omega (W h + b); h' = sin z, J' = cos z * Z_J,
    B'_k = cos z * Z_Bk - sin z * q_k with Z = omega S W^T and q_k = _quad(Z_J, pairs_k).  S (K, N, w_in) ->
    (K, N, w_out).

    omega is folded into W and b, so the whole stack is one GEMM. Saved for backward: the input S, the
    pre-activation blocks (block 0 reused to hold q_0; later q_k are recomputed), cos z, and the output (whose
    block 0 is sin z)."""

    @staticmethod
    def forward(ctx, S, weight, bias, omega, nj, blocks):
        Z = _stacked_linear(S, weight * omega, None if bias is None else bias * omega)
        out = torch.empty_like(Z)
        s = out[0]
        torch.sin(Z[0], out=s)
        c = torch.cos(Z[0])
        if nj:
            torch.mul(Z[1:1 + nj], c, out=out[1:1 + nj])
        ZJ, tmp = Z[1:1 + nj], None
        for k, pairs in enumerate(blocks):
            # block 0's q goes into Z[0]: z itself is no longer needed once sin and cos are known
            q = _quad(ZJ, pairs, out=Z[0] if k == 0 else tmp)
            tmp = q if k > 0 else None
            B = out[1 + nj + k]
            torch.mul(Z[1 + nj + k], c, out=B)
            B.addcmul_(s, q, value=-1.0)
        ctx.omega, ctx.nj, ctx.blocks, ctx.has_bias = omega, nj, blocks, bias is not None
        ctx.save_for_backward(S, weight, Z, c, out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        S, weight, Z, c, out = ctx.saved_tensors
        nj, blocks = ctx.nj, ctx.blocks
        G = G.contiguous()
        s = out[0]
        dZ = torch.empty_like(Z)
        dz = dZ[0]
        if blocks:
            GJ, ZJ, dZJ = G[1:1 + nj], Z[1:1 + nj], dZ[1:1 + nj]
            GB, ZB, dZB = G[1 + nj:], Z[1 + nj:], dZ[1 + nj:]
            torch.mul(GJ, c, out=dZJ)                            # dJ'/dZ_J = cos z
            t = torch.empty_like(s)
            for k, pairs in enumerate(blocks):
                torch.mul(GB[k], s, out=t)
                _quad_backward(dZJ, t, ZJ, pairs)                # dB'/dZ_J = -sin z dq/dZ_J
                torch.mul(GB[k], c, out=dZB[k])                  # dB'/dZ_B = cos z
            u = torch.mul(GB[0], ZB[0], out=t)                   # u = sum_k G_Bk Z_Bk + sum_j G_j Z_j
            for j in range(nj):
                u.addcmul_(GJ[j], ZJ[j])
            for k in range(1, len(blocks)):
                u.addcmul_(GB[k], ZB[k])
            torch.mul(G[0], c, out=dz)                           # d sin z / dz = cos z
            dz.addcmul_(s, u, value=-1.0)                        # d cos z / dz = -sin z
            for k, pairs in enumerate(blocks):                   # d(-sin z q_k)/dz = -cos z q_k
                q = Z[0] if k == 0 else _quad(ZJ, pairs, out=t)
                dz.addcmul_(dZB[k], q, value=-1.0)
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


class _ActStack(torch.autograd.Function):
    """An activated linear layer h -> f(W h + b) (FINER, Gauss, Gabor) on the stacked layout: Z = S W^T (+ b on
    block 0), h' = f(z), J' = f'(z) Z_J, B'_k = f'(z) Z_Bk + f''(z) q_k with q_k = _quad(Z_J, pairs_k).
    S (K, N, w_in) -> (K, N, w_out); act(z, order): the layer's (f, f', f'', f^(3)) up to order
    (`_LAYER_ACTIVATIONS`, bound to the layer). Saved for backward: S and Z; f and its derivatives (f^(3) for the
    f'' q_k terms) are recomputed from z. Needs nj > 0 (value-only requests take the plain path)."""

    @staticmethod
    def forward(ctx, S, weight, bias, act, nj, blocks):
        Z = _stacked_linear(S, weight, bias)
        f0, f1, f2 = act(Z[0], 2 if blocks else 1)
        out = torch.empty_like(Z)
        out[0] = f0
        torch.mul(Z[1:1 + nj], f1, out=out[1:1 + nj])
        q = None
        for k, pairs in enumerate(blocks):
            q = _quad(Z[1:1 + nj], pairs, out=q)
            B = out[1 + nj + k]
            torch.mul(Z[1 + nj + k], f1, out=B)
            B.addcmul_(f2, q)
        ctx.act, ctx.nj, ctx.blocks, ctx.has_bias = act, nj, blocks, bias is not None
        ctx.save_for_backward(S, weight, Z)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        S, weight, Z = ctx.saved_tensors
        nj, blocks = ctx.nj, ctx.blocks
        G = G.contiguous()
        derivs = ctx.act(Z[0], 3 if blocks else 2)
        f1, f2 = derivs[1], derivs[2]
        GJ, ZJ = G[1:1 + nj], Z[1:1 + nj]
        dZ = torch.empty_like(Z)
        dz, dZJ = dZ[0], dZ[1:1 + nj]
        torch.mul(GJ, f1, out=dZJ)                               # dJ'/dZ_J = f'(z)
        u = torch.mul(GJ[0], ZJ[0])                               # u = sum_j G_j Z_j + sum_k G_Bk Z_Bk
        for j in range(1, nj):
            u.addcmul_(GJ[j], ZJ[j])
        torch.mul(G[0], f1, out=dz)                               # d f(z)/dz = f'(z)
        if blocks:
            GB, ZB, dZB = G[1 + nj:], Z[1 + nj:], dZ[1 + nj:]
            t, q = torch.empty_like(dz), torch.empty_like(dz)
            for k, pairs in enumerate(blocks):
                torch.mul(GB[k], f2, out=t).neg_()
                _quad_backward(dZJ, t, ZJ, pairs)                 # dB'/dZ_J = f''(z) dq/dZ_J
                torch.mul(GB[k], f1, out=dZB[k])                  # dB'/dZ_B = f'(z)
                u.addcmul_(GB[k], ZB[k])
                dz.addcmul_(torch.mul(GB[k], derivs[3], out=t), _quad(ZJ, pairs, out=q))   # f^(3)(z) q_k
        dz.addcmul_(f2, u)                                        # d f'(z)/dz = f''(z)
        dS, dW, db = _linear_backward(ctx, dZ, S, weight, ctx.has_bias, 1.0)
        return dS, dW, db, None, None, None


class _SineInputStack(torch.autograd.Function):
    """A first SineLayer fed the coordinates themselves, whose Jacobian is the identity and second derivatives zero:
    with W' = omega W, z = x W'^T + omega b:  h = sin z,  J_j = cos z * W'[:, j],  B_k = -sin z * q_k with
    q_k = sum over the pairs (i, j) of W'[:, i] W'[:, j].  x (N, d) -> (K, N, w); no (N, d) x (d, w) products for
    the J and B blocks."""

    @staticmethod
    def forward(ctx, x, weight, bias, omega, nj, blocks):
        W = weight * omega
        z = gemm.linear(x, W, None if bias is None else bias * omega)
        N, w = z.shape
        out = z.new_empty(1 + nj + len(blocks), N, w)
        s = out[0]
        torch.sin(z, out=s)
        c = torch.cos(z, out=z)
        Wc = W.t()                                              # (d, w): row j is W'[:, j]
        if nj:
            torch.mul(c, Wc[:, None, :], out=out[1:1 + nj])
        for k, pairs in enumerate(blocks):
            torch.mul(s, _quad(Wc, pairs), out=out[1 + nj + k]).neg_()
        ctx.omega, ctx.nj, ctx.blocks, ctx.has_bias = omega, nj, blocks, bias is not None
        ctx.save_for_backward(x, weight, c, out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        x, weight, c, out = ctx.saved_tensors
        nj, blocks, omega = ctx.nj, ctx.blocks, ctx.omega
        W = weight * omega
        Wc = W.t()
        s = out[0]
        dz = torch.mul(G[0], c)
        dWc = None                                              # dL/dW' through the J and B blocks, (d, w)
        if nj:
            GJ = G[1:1 + nj]
            u = torch.mul(GJ[0], Wc[0])
            for j in range(1, nj):
                u.addcmul_(GJ[j], Wc[j])
            dz.addcmul_(s, u, value=-1.0)                       # d(cos z W'_j)/dz = -sin z W'_j
            dWc = torch.mul(GJ, c).sum(1)                       # d(cos z W'_j)/dW'_j = cos z
        for k, pairs in enumerate(blocks):
            GB = G[1 + nj + k]
            dz.addcmul_(torch.mul(GB, c), _quad(Wc, pairs), value=-1.0)   # d(-sin z q)/dz = -cos z q
            gq = torch.mul(GB, s).sum(0).neg_()                 # dL/dq
            for i, j in pairs:                                  # dq/dW'_i = W'_j (2 W'_i when i = j)
                if i == j:
                    dWc[i].addcmul_(Wc[i], gq, value=2.0)
                else:
                    dWc[i].addcmul_(Wc[j], gq)
                    dWc[j].addcmul_(Wc[i], gq)
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


class _ChainGrad(torch.autograd.Function):
    """Value and input gradient of a chain of SineLayer / activated-linear (FINER, Gauss, Gabor) / nn.Linear layers
    by a hand-written reverse sweep, with a hand-written backward (the "double backward" of the autograd reference,
    without its graph).

    With W_k, b_k already scaled by omega_k (1 but for a SineLayer) and act_k = sin, the layer's f, or identity:
      forward sweep   z_k = h_{k-1} W_k^T + b_k,  h_k = act_k(z_k),  y = h_n;
      gradient sweep  a_n = e_c (one block per output channel c),  delta_k = a_k * act_k'(z_k),
                      a_{k-1} = delta_k W_k,  so a_0[c] = dy_c/dx.
    Backward reverses the gradient sweep (k = 1..n), then the forward sweep (k = n..1); act'' enters only through
    z_k (for sin it is -h_k, so nothing more is kept). GEMM count equals autograd's, with far fewer elementwise
    passes and no graph.
    Inputs: x (N, d), spec (tuple of (kind, omega, f) per layer: kind "sine", "act" (f(z, order) -> (f, f', f''))
    or "linear"), then weight_1, bias_1, ..., weight_n, bias_n.  Outputs: y (N, C), grad (C, N, d)."""

    @staticmethod
    def forward(ctx, x, spec, *params):
        hs, cs, f2s = [x], [], []
        h = x
        for k, (kind, omega, act) in enumerate(spec):
            W, b = params[2 * k], params[2 * k + 1]
            if omega != 1.0:
                W, b = W * omega, (None if b is None else b * omega)
            z = gemm.linear(h, W, b)
            if kind == "sine":
                h = torch.sin(z)
                cs.append(torch.cos(z, out=z))             # z is not needed once sin and cos are known
            elif kind == "act":
                h, c, f2 = act(z, 2)
                cs.append(c)
                f2s.append(f2)
            else:
                h = z
                cs.append(None)
            hs.append(h)
        y = h
        N, C = y.shape
        a = torch.eye(C, dtype=y.dtype, device=y.device)[:, None, :].expand(C, N, C).contiguous()
        a_s, deltas = [None] * len(spec), [None] * len(spec)
        for k in range(len(spec) - 1, -1, -1):
            kind, omega, _ = spec[k]
            W = params[2 * k] if omega == 1.0 else params[2 * k] * omega
            a_s[k] = a
            delta = a * cs[k] if kind != "linear" else a
            deltas[k] = delta
            a = gemm.linear(delta.reshape(-1, W.shape[0]), W.t()).view(C, N, W.shape[1])   # a_{k-1}: (C, N, w_{k-1})
        ctx.set_materialize_grads(False)
        ctx.spec = spec
        ctx.has_bias = [params[2 * k + 1] is not None for k in range(len(spec))]
        ctx.save_for_backward(*hs, *[t for t in cs if t is not None], *f2s, *a_s, *deltas,
                              *[params[2 * k] for k in range(len(spec))])
        return y, a

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, ybar, gbar):
        spec, n = ctx.spec, len(ctx.spec)
        saved = list(ctx.saved_tensors)
        hs, saved = saved[:n + 1], saved[n + 1:]
        kinds = [kind for kind, _, _ in spec]
        n_active, n_act = sum(1 for k in kinds if k != "linear"), kinds.count("act")
        cos_it, saved = iter(saved[:n_active]), saved[n_active:]
        cs = [next(cos_it) if k != "linear" else None for k in kinds]
        f2_it, saved = iter(saved[:n_act]), saved[n_act:]
        f2s = [next(f2_it) if k == "act" else None for k in kinds]
        a_s, deltas, weights = saved[:n], saved[n:2 * n], saved[2 * n:]
        Ws = [w if om == 1.0 else w * om for w, (_, om, _) in zip(weights, spec)]
        dW = [None] * n
        zbar = [None] * n                  # sum_c dL/d delta_k * a_k: enters dL/dz_k as act''(z_k) * zbar_k
        # reverse of the gradient sweep, k = 1..n
        if gbar is not None:
            abar = gbar.contiguous()                         # dL/da_{k-1}: (C, N, w_{k-1})
            for k in range(n):
                active = kinds[k] != "linear"
                w_out, w_in = Ws[k].shape
                dW[k] = gemm.linear_tn(deltas[k].reshape(-1, w_out), abar.reshape(-1, w_in))
                if not active and k == n - 1:
                    break                                    # a_n is constant
                dbar = gemm.linear(abar.reshape(-1, w_in), Ws[k]).view(*abar.shape[:-1], w_out)  # dL/d delta_k
                if active:
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
            if kinds[k] != "linear":
                if hbar is None:
                    zb = None
                else:                                           # hbar is ours (a fresh product) except at the top
                    zb = hbar * cs[k] if hbar is ybar else hbar.mul_(cs[k])
                if zbar[k] is not None:                      # d(a * act'(z))/dz = a * act''(z); sin'' = -sin
                    f2, sign = (hs[k + 1], -1.0) if kinds[k] == "sine" else (f2s[k], 1.0)
                    zb = torch.mul(zbar[k], f2).mul_(sign) if zb is None else zb.addcmul_(zbar[k], f2, value=sign)
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
        for k, (_, om, _) in enumerate(spec):
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


def _split(Z, nj, nb):
    """Stacked Z (1 + nj + nb, ...) -> (z0, ZJ (nj, ...) or None, ZB (nb, ...) or None) by one split, whose backward
    is one cat (a select or slice backward would zero-fill and copy the whole stack once per block). nb implies nj."""
    parts = Z.split([1] + ([nj] if nj else []) + ([nb] if nb else []))
    return parts[0][0], (parts[1] if nj else None), (parts[2] if nb else None)


def _apply_elementwise(f0, f1, f2, ZJ, ZB, blocks):
    """Stacked output of an elementwise f given f(z0), f'(z0), f''(z0) (f2 None when f'' = 0) and the Jacobian and
    second-order blocks ZJ, ZB of the pre-activation (None when not propagated): the jet rule of the module
    docstring."""
    out = [f0[None]]
    if ZJ is not None:
        out.append(f1 * ZJ)
    if ZB is not None:
        B = f1 * ZB
        if f2 is not None:
            B = B + f2 * torch.stack([_quad(ZJ, pairs) for pairs in blocks])
        out.append(B)
    return torch.cat(out, dim=0) if len(out) > 1 else out[0]


def _trig_jet(Z, jet, cos: bool = True):
    """sin (and cos) of a stacked pre-activation Z, as stacked jets: the one place, besides the fused Functions, where
    the sine rule lives (sin' = cos, sin'' = -sin; cos' = -sin, cos'' = -cos)."""
    z, ZJ, ZB = _split(Z, jet.nj, len(jet.blocks))
    s, c = torch.sin(z), torch.cos(z)
    sin = _apply_elementwise(s, c, -s, ZJ, ZB, jet.blocks)
    return (sin, _apply_elementwise(c, -s, -c, ZJ, ZB, jet.blocks)) if cos else sin


def _softplus(m, z, order):
    f = F.softplus(z, m.beta, m.threshold)
    if not order:
        return f, None, None
    linear_part = z * m.beta > m.threshold
    s = torch.sigmoid(z * m.beta)
    d2 = torch.where(linear_part, torch.zeros_like(s), m.beta * s * (1 - s)) if order > 1 else None
    return f, torch.where(linear_part, torch.ones_like(s), s), d2


def _elu(m, z, order):
    selu = isinstance(m, nn.SELU)
    f = F.selu(z) if selu else F.elu(z, m.alpha)
    if not order:
        return f, None, None
    alpha, scale = (_SELU_ALPHA, _SELU_SCALE) if selu else (m.alpha, 1.0)
    e = scale * alpha * torch.exp(z)
    pos = z > 0
    return f, torch.where(pos, torch.full_like(z, scale), e), (torch.where(pos, torch.zeros_like(z), e)
                                                               if order > 1 else None)


def _tanh(m, z, order):
    t = torch.tanh(z)
    d1 = 1 - t * t if order else None
    return t, d1, (-2 * t * d1 if order > 1 else None)


def _sigmoid(m, z, order):
    s = torch.sigmoid(z)
    d1 = s * (1 - s) if order else None
    return s, d1, (d1 * (1 - 2 * s) if order > 1 else None)


def _relu(m, z, order):
    return torch.relu(z), ((z > 0).to(z.dtype) if order else None), None


def _finer(m, z, order):
    """sin(u), u = omega (|z| + 1) z, du = u' = omega (2|z| + 1): f' = du cos u, f'' = -du^2 sin u
    + 2 omega sign(z) cos u, f^(3) = -du^3 cos u - 6 omega sign(z) du sin u (sign(0) = 0, as autograd
    differentiates |z|). Returns (f, f', f'') up to `order` (None beyond it), and f^(3) too for order 3."""
    w, a = m.omega_0, z.abs()
    u = w * (a + 1) * z
    s = torch.sin(u)
    if not order:
        return s, None, None
    c, du = torch.cos(u), w * (2 * a + 1)
    if order < 2:
        return s, c * du, None
    sg = torch.sign(z)
    f2 = c * (2 * w) * sg - s * du * du
    if order < 3:
        return s, c * du, f2
    return s, c * du, f2, -(c * du * du * du) - (6 * w) * sg * du * s


def _gauss(m, z, order):
    """g = exp(-(s z)^2): g' = -2 s^2 z g, g'' = 2 s^2 (2 (s z)^2 - 1) g, g^(3) = 4 s^4 z (3 - 2 (s z)^2) g
    (up to `order`, as `_finer`)."""
    s2 = m.scale ** 2
    g = torch.exp(-s2 * z * z)
    if not order:
        return g, None, None
    g1 = -2 * s2 * z * g
    if order < 2:
        return g, g1, None
    g2 = 2 * s2 * (2 * s2 * z * z - 1) * g
    return (g, g1, g2) if order < 3 else (g, g1, g2, 4 * s2 * s2 * z * (3 - 2 * s2 * z * z) * g)


def _gabor(m, z, order):
    """cos(omega z) g with g = exp(-(s z)^2) (`_gauss`), by Leibniz: f' = cos g' - omega sin g,
    f'' = cos (g'' - omega^2 g) - 2 omega sin g', f^(3) = cos (g^(3) - 3 omega^2 g') + sin (omega^3 g - 3 omega g'')
    (up to `order`, as `_finer`)."""
    gs = _gauss(m, z, order)
    wz, w = m.omega_0 * z, m.omega_0
    c = torch.cos(wz)
    if not order:
        return c * gs[0], None, None
    g, g1, g2 = gs[:3]
    sn = torch.sin(wz)
    f1 = c * g1 - w * sn * g
    f2 = c * (g2 - w * w * g) - 2 * w * sn * g1 if order > 1 else None
    if order < 3:
        return c * g, f1, f2
    return c * g, f1, f2, c * (gs[3] - 3 * w * w * g1) + sn * (w ** 3 * g - 3 * w * g2)


# f(z) and, up to `order` (0, 1 or 2), f'(z), f''(z) as autograd itself differentiates the module (None when not
# asked for, and f'' None when identically zero). f is evaluated out of place even for inplace=True modules.
_ACTIVATIONS = {nn.ReLU: _relu, nn.Tanh: _tanh, nn.Sigmoid: _sigmoid, nn.Softplus: _softplus, nn.ELU: _elu,
                nn.SELU: _elu}
# the same for the layers h -> f(W h + b) of the model families (f of the pre-activation z = W h + b), with
# order 3 too (the fused layer's backward, `_ActStack`)
_LAYER_ACTIVATIONS = {FinerLayer: _finer, GaussLayer: _gauss, GaborLayer: _gabor}


# ---------------------------------------------------------------------------------------------------------------
# The layer rules: one function per layer type, (module, stacked S, jet) -> stacked output.
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Jet:
    """What is propagated: x (N, d) the input, nj Jacobian blocks (0 or d), the second-order blocks, whether the
    fused Functions are used."""
    x: torch.Tensor
    nj: int
    blocks: tuple
    fused: bool


def _sine_rule(m: SineLayer, S, jet: _Jet):
    w, b = m.linear.weight, m.linear.bias
    if jet.fused and S is None:                                  # first layer, fed the coordinates themselves
        return _SineInputStack.apply(jet.x.contiguous(), w, b, m.omega_0, jet.nj, jet.blocks)
    if jet.fused:
        return _SineStack.apply(S.contiguous(), w, b, m.omega_0, jet.nj, jet.blocks)
    return _trig_jet(_linear_plain(S, w, b) * m.omega_0, jet, cos=False)


def _linear_rule(m: nn.Linear, S, jet: _Jet):
    return _LinearStack.apply(S.contiguous(), m.weight, m.bias) if jet.fused else _linear_plain(S, m.weight, m.bias)


def _activation_jet(f, m: nn.Module, S, jet: _Jet):
    """The stacked jet of f(m, z, order) (as in `_ACTIVATIONS`) applied to the stacked pre-activation S."""
    if not jet.nj:                                               # value only: the activation of the whole state
        return f(m, S, 0)[0]
    z, ZJ, ZB = _split(S, jet.nj, len(jet.blocks))
    return _apply_elementwise(*f(m, z, 2 if jet.blocks else 1), ZJ, ZB, jet.blocks)


def _elementwise_rule(m: nn.Module, S, jet: _Jet):
    return _activation_jet(_ACTIVATIONS[type(m)], m, S, jet)


def _activated_linear_rule(m: nn.Module, S, jet: _Jet):
    """h -> f(W h + b) (FinerLayer, GaussLayer, GaborLayer): fused (`_ActStack`) when derivatives are propagated,
    else the Linear rule on m.linear, then f's jet."""
    f = _LAYER_ACTIVATIONS[type(m)]
    if jet.fused and jet.nj:
        return _ActStack.apply(S.contiguous(), m.linear.weight, m.linear.bias, functools.partial(f, m), jet.nj,
                               jet.blocks)
    return _activation_jet(f, m, _linear_rule(m.linear, S, jet), jet)


def _positional_encoding_rule(m: PositionalEncoding, S, jet: _Jet):
    Z = S[..., None, :] * m.freqs[:, None]                          # (K, N, F, d_in)
    enc = torch.stack(_trig_jet(Z, jet), dim=-2).flatten(-3)   # (K, N, F * 2 * d_in)
    return torch.cat([S, enc], dim=-1)


def _fourier_features_rule(m: FourierFeatures, S, jet: _Jet):
    Z = 2 * math.pi * S @ m.B.T                                      # (K, N, m)
    sin, cos = _trig_jet(Z, jet)
    return torch.cat([cos, sin], dim=-1)


def _rbf_rule(m: RBFLayer, S, jet: _Jet):
    """y_k = exp(-a_k r_k), r_k = |h - c_k|^2, a_k = sigma_k^2:  J_y = -a y J_r,  B_y = -a y B_r + a^2 y q(J_r),
    with J_r = 2 (h - c_k) . J_j and B_r = 2 q(J) + 2 (h - c_k) . B (q the block's pair sum)."""
    h, nj = S[0], jet.nj
    diff = h[..., None, :] - m.centres                              # (N, K, d_in)
    a = m.sigmas.pow(2)
    y = torch.exp(-diff.pow(2).sum(-1) * a)                          # exactly the module's forward
    out = [y[None]]
    if nj:
        SJ = S[1:1 + nj]
        Jr = 2 * torch.einsum("nkd,jnd->jnk", diff, SJ)              # (nj, N, K)
        ay = a * y
        out.append(-ay * Jr)
    for k, pairs in enumerate(jet.blocks):
        Br = 2 * _quad(SJ, pairs).sum(-1)[:, None] + 2 * torch.einsum("nkd,nd->nk", diff, S[1 + nj + k])
        out.append((-ay * Br + ay * a * _quad(Jr, pairs))[None])
    return torch.cat(out, 0) if len(out) > 1 else out[0]


_RULES = {SineLayer: _sine_rule, nn.Linear: _linear_rule, PositionalEncoding: _positional_encoding_rule,
          FourierFeatures: _fourier_features_rule, RBFLayer: _rbf_rule, nn.Identity: lambda m, S, jet: S,
          **{t: _elementwise_rule for t in _ACTIVATIONS}, **{t: _activated_linear_rule for t in _LAYER_ACTIVATIONS}}


# ---------------------------------------------------------------------------------------------------------------

def _chain_spec(layers):
    """(kind, omega, f) per layer (`_ChainGrad`) when every layer is a SineLayer, an activated linear layer of
    `_LAYER_ACTIVATIONS` or an nn.Linear, else None."""
    spec = []
    for m in layers:
        if type(m) is SineLayer:
            spec.append(("sine", float(m.omega_0), None))
        elif type(m) in _LAYER_ACTIVATIONS:
            spec.append(("act", 1.0, functools.partial(_LAYER_ACTIVATIONS[type(m)], m)))
        elif type(m) is nn.Linear:
            spec.append(("linear", 1.0, None))
        else:
            return None
    return tuple(spec)


def _sine_chain(layers) -> bool:
    """Whether every layer is a SineLayer or an nn.Linear (the in-place inference path)."""
    return all(type(m) in (SineLayer, nn.Linear) for m in layers)


def _out_features(layers) -> int | None:
    for m in reversed(layers):
        if isinstance(m, SineLayer):
            return m.linear.out_features
        if isinstance(m, nn.Linear):
            return m.out_features
    return None


def forward_derivatives(model: nn.Module, coords: torch.Tensor, request: Request = Request(), fused: bool = True,
                        strategy: str = "auto") -> Derivatives:
    """Value and the requested derivatives of `model` in one pass, without autograd's double backward.

    coords: (N, d) (or (..., d), flattened to N points).  Returns `Derivatives` (value (N, C), gradient (N, C, d)
    when asked for, the second-order blocks of `request.blocks(d)`). The Jacobian blocks are propagated only when
    some derivative is asked for, second-order blocks only when asked for. Differentiable w.r.t. the parameters
    (and coords) to first order.

    strategy: "taylor" propagates the jet forward (cost ~ K forward passes); "reverse" (gradient only, SIREN /
    Linear chains, fused) computes the gradient by a hand-written reverse sweep with a hand-written backward
    (cost ~ 1 + C passes, cheaper when C <= d); "auto" picks reverse for a gradient-only request on such a chain
    with C <= d, else taylor. `fused=False` uses plain torch ops only (taylor; differentiable to any order, slower).
    Raises ValueError when `supports_forward(model)` is False.
    """
    if not supports_forward(model):
        raise ValueError(f"forward-mode derivatives do not support {type(model).__name__} "
                         "(need model.net = nn.Sequential of the layer types of siren.diff.forward._RULES; "
                         "use mode='autograd')")
    if strategy not in ("auto", "taylor", "reverse"):
        raise ValueError(f"unknown strategy {strategy!r} (choose auto, taylor or reverse)")
    layers = _layers(model)
    d = coords.shape[-1]
    x = coords.reshape(-1, d)
    N = x.shape[0]
    blocks = request.blocks(d)
    if request.gradient and not blocks and fused and strategy != "taylor":
        spec = _chain_spec(layers)
        if spec is None and strategy == "reverse":
            raise ValueError("strategy='reverse' needs a chain of SineLayer, FINER/Gauss/Gabor and nn.Linear layers")
        if spec is not None and (strategy == "reverse" or _out_features(layers) <= d):
            params = [t for m in layers for t in ((m.weight, m.bias) if type(m) is nn.Linear
                                                  else (m.linear.weight, m.linear.bias))]
            y, g = _ChainGrad.apply(x.contiguous(), spec, *params)
            return Derivatives(y, g.permute(1, 0, 2), {}, d)
    elif strategy == "reverse":
        raise ValueError("strategy='reverse' computes the gradient only (fused, without second derivatives)")
    nj = d if request.first_order else 0
    jet = _Jet(x, nj, blocks, fused)
    if fused and isinstance(layers[0], SineLayer):
        S = None                                                # the first layer starts from x itself
    else:
        S = torch.cat([x[None]]
                      + ([torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, N, d)] if nj else [])
                      + ([x.new_zeros(len(blocks), N, d)] if blocks else []), 0)
    for m in layers:
        S = _RULES[type(m)](m, S, jet)
    return Derivatives(S[0], S[1:1 + d].permute(1, 2, 0) if request.gradient else None,
                       {pairs: S[1 + nj + k] for k, pairs in enumerate(blocks)}, d)


def inference(model: nn.Module, coords: torch.Tensor) -> torch.Tensor:
    """model(coords) without a graph, for rendering and meshing: a chain of SineLayer / nn.Linear layers runs in
    place (h = W h + b through `siren.diff.gemm`, then h *= omega, sin in place: one buffer a layer, oneDNN's
    products on CPU); any other model is simply called. Same numbers as model(coords) up to round-off."""
    with torch.no_grad():
        layers = _layers(model)
        if not layers or not _sine_chain(layers):
            return model(coords)
        h = coords.reshape(-1, coords.shape[-1])
        for m in layers:
            sine = type(m) is SineLayer
            lin = m.linear if sine else m
            h = gemm.linear(h.contiguous(), lin.weight, lin.bias)
            if sine:
                h.mul_(m.omega_0).sin_()
        return h.reshape(*coords.shape[:-1], h.shape[-1])
