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

What a module does comes from the module, never from its class name (`_rule`): nn.Linear; a layer h -> f(W h + b)
with `.linear` and `.activation`, whose f and its derivatives come from `activation.taylor` (activations as data,
`siren.models.activations`); an elementwise activation with `taylor`; a module with its own `jet` rule (the
encodings). A new activation needs no edit here.

The jet is kept stacked in one tensor S of shape (K, N, w): S[0] = h, S[1:1+d] = J_1..J_d (when any derivative is
asked for), S[1+d+k] = B_k. A linear layer is then ONE matrix product (K N, w_in) x (w_in, w_out) instead of K
small ones. nn.Linear and the activated layers run as custom autograd Functions (`_SineStack` specialised for
f = sin(omega z): omega folded into W, sin and cos computed once) whose backward is written by hand (sin and cos computed once, only what the backward needs
saved, the pre-activation buffers reused in place; the products go through `siren.diff.gemm`, oneDNN on CPU);
every other layer (and activation) uses plain torch ops. The cost is about K forward passes plus their backward:
no create_graph double backward, so far fewer FLOPs and much less memory than the autograd reference
(`siren.diff.autograd`), with the same numbers up to floating-point round-off.

When only the gradient is asked for and the network is a chain of activated and nn.Linear layers with
C <= d outputs, d forward tangents cost more matrix products than C reverse sweeps, so that case runs a
hand-written reverse sweep instead (`_ChainGrad`: value and gradient in one Function, with the "double
backward" written by hand; the same matrix products as autograd, a fraction of its elementwise work and memory).

The results are differentiable w.r.t. the model's parameters (and coords) to first order. The hand-written
backward passes are not themselves differentiable; pass `fused=False` for a plain-torch-ops version that is
differentiable to any order (slower). Speed on CPU: see benchmarks/speed.py; `siren.runtime.tune_allocator()`
removes most of the page-fault cost of the large temporaries.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models.taylor import apply_elementwise, quad, split
from . import gemm
from .request import Derivatives, Pairs, Request

__all__ = ["supports_forward", "unsupported", "forward_derivatives", "inference"]


def _layers(model: nn.Module):
    net = getattr(model, "net", model)
    return list(net) if isinstance(net, nn.Sequential) else None


def _quad_backward(dZJ: torch.Tensor, t: torch.Tensor, ZJ: torch.Tensor, pairs: Pairs) -> None:
    """In place: dZJ -= t * dq/dZJ for q = quad(ZJ, pairs), i.e. t ZJ[j] into row i and t ZJ[i] into row j
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
    """A sine layer on the stacked layout: z = omega (W h + b); h' = sin z, J' = cos z * Z_J,
    B'_k = cos z * Z_Bk - sin z * q_k with Z = omega S W^T and q_k = quad(Z_J, pairs_k).  S (K, N, w_in) ->
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
            q = quad(ZJ, pairs, out=Z[0] if k == 0 else tmp)
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
                q = Z[0] if k == 0 else quad(ZJ, pairs, out=t)
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
    """An activated linear layer h -> f(W h + b) on the stacked layout: Z = S W^T (+ b on
    block 0), h' = f(z), J' = f'(z) Z_J, B'_k = f'(z) Z_Bk + f''(z) q_k with q_k = quad(Z_J, pairs_k).
    S (K, N, w_in) -> (K, N, w_out); act(z, order): the layer's (f, f', f'', f^(3)) up to order
    (`Activation.taylor`; None for an identically zero term). Saved for backward: S and Z; f and its derivatives (f^(3) for the
    f'' q_k terms) are recomputed from z. Needs nj > 0 (value-only requests take the plain path)."""

    @staticmethod
    def forward(ctx, S, weight, bias, act, nj, blocks):
        Z = _stacked_linear(S, weight, bias)
        f0, f1, f2 = _padded(act(Z[0], 2 if blocks else 1), 3)
        out = torch.empty_like(Z)
        out[0] = f0
        torch.mul(Z[1:1 + nj], f1, out=out[1:1 + nj])
        q = None
        for k, pairs in enumerate(blocks):
            q = quad(Z[1:1 + nj], pairs, out=q)
            B = out[1 + nj + k]
            torch.mul(Z[1 + nj + k], f1, out=B)
            if f2 is not None:
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
        derivs = [torch.zeros_like(Z[0]) if t is None else t for t in _padded(ctx.act(Z[0], 3 if blocks else 2), 4)]
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
                dz.addcmul_(torch.mul(GB[k], derivs[3], out=t), quad(ZJ, pairs, out=q))   # f^(3)(z) q_k
        dz.addcmul_(f2, u)                                        # d f'(z)/dz = f''(z)
        dS, dW, db = _linear_backward(ctx, dZ, S, weight, ctx.has_bias, 1.0)
        return dS, dW, db, None, None, None


class _SineInputStack(torch.autograd.Function):
    """A first sine layer fed the coordinates themselves, whose Jacobian is the identity and second derivatives zero:
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
            torch.mul(s, quad(Wc, pairs), out=out[1 + nj + k]).neg_()
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
            dz.addcmul_(torch.mul(GB, c), quad(Wc, pairs), value=-1.0)   # d(-sin z q)/dz = -cos z q
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
    """Value and input gradient of a chain of sine layers, other activated layers and nn.Linear layers
    by a hand-written reverse sweep, with a hand-written backward (the "double backward" of the autograd reference,
    without its graph).

    With W_k, b_k already scaled by omega_k (1 but for a sine layer) and act_k = sin, the layer's f, or identity:
      forward sweep   z_k = h_{k-1} W_k^T + b_k,  h_k = act_k(z_k),  y = h_n;
      gradient sweep  a_n = e_c (one block per output channel c),  delta_k = a_k * act_k'(z_k),
                      a_{k-1} = delta_k W_k,  so a_0[c] = dy_c/dx.
    Backward reverses the gradient sweep (k = 1..n), then the forward sweep (k = n..1); act'' enters only through
    z_k (for sin it is -h_k, so nothing more is kept). GEMM count equals autograd's, with far fewer elementwise
    passes and no graph.
    Inputs: x (N, d), spec (tuple of (kind, omega, f) per layer: kind "sine", "act" (f(z, order) -> Taylor terms)
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
                h, c, f2 = (torch.zeros_like(z) if t is None else t for t in _padded(act(z, 2), 3))
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
# The rules, by what a module states (never by its class): an nn.Linear; a layer h -> activation(linear(h)) (a
# `.linear` nn.Linear and an `.activation` with `taylor`); an elementwise activation (`taylor`); a module with its
# own `jet` (the encodings); nn.Identity. (module, stacked S, jet, shift) -> stacked output.
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Jet:
    """What is propagated: x (N, d) the input, nj Jacobian blocks (0 or d), the second-order blocks, whether the
    fused Functions are used."""
    x: torch.Tensor
    nj: int
    blocks: tuple
    fused: bool


def _linear_plain(S, weight, bias, shift=None):
    Z = torch.matmul(S, weight.t())
    if shift is not None:
        bias = shift if bias is None else bias + shift
    if bias is None:
        return Z
    return torch.cat([(Z[0] + bias)[None], Z[1:]], dim=0)


def _linear_rule(m: nn.Linear, S, jet: _Jet, shift=None):
    if jet.fused:
        return _LinearStack.apply(S.contiguous(), m.weight, m.bias)
    return _linear_plain(S, m.weight, m.bias, shift)


def _padded(terms: tuple, n: int) -> tuple:
    """The first n terms of an activation's Taylor terms, None past its end."""
    return tuple(terms[:n]) + (None,) * (n - len(terms))


def _elementwise_jet(taylor, S, jet: _Jet):
    """The stacked jet of the elementwise function with Taylor terms `taylor(z, order)` applied to the stacked
    pre-activation S."""
    if not jet.nj:                                               # value only: the activation of the whole state
        return taylor(S, 0)[0]
    z, ZJ, ZB = split(S, jet.nj, len(jet.blocks))
    return apply_elementwise(*_padded(taylor(z, 2 if jet.blocks else 1), 3), ZJ, ZB, jet.blocks)


def _elementwise_rule(m: nn.Module, S, jet: _Jet, shift=None):
    return _elementwise_jet(m.taylor, S, jet)


def _activated_rule(m: nn.Module, S, jet: _Jet, shift=None):
    """h -> f(W h + b): fused when derivatives are propagated (`_SineStack` / `_SineInputStack` for f = sin(omega z),
    else `_ActStack`), else the Linear rule on m.linear, then f's jet."""
    act, w, b = m.activation, m.linear.weight, m.linear.bias
    omega = act.sine_frequency
    if jet.fused and omega is not None and S is None:           # first layer, fed the coordinates themselves
        return _SineInputStack.apply(jet.x.contiguous(), w, b, omega, jet.nj, jet.blocks)
    if jet.fused and omega is not None:
        return _SineStack.apply(S.contiguous(), w, b, omega, jet.nj, jet.blocks)
    if jet.fused and jet.nj:
        return _ActStack.apply(S.contiguous(), w, b, act.taylor, jet.nj, jet.blocks)
    return _elementwise_jet(act.taylor, _linear_rule(m.linear, S, jet, shift), jet)


def _own_rule(m: nn.Module, S, jet: _Jet, shift=None):
    return m.jet(S, jet.nj, jet.blocks)


def _activated(m: nn.Module) -> bool:
    return type(getattr(m, "linear", None)) is nn.Linear and callable(getattr(getattr(m, "activation", None),
                                                                              "taylor", None))


def _rule(m: nn.Module):
    """The jet rule of module m, or None when forward mode cannot take it. nn.Linear and nn.Identity count only as
    themselves (a subclass may change forward)."""
    if type(m) is nn.Linear:
        return _linear_rule
    if type(m) is nn.Identity:
        return lambda m, S, jet, shift=None: S
    if _activated(m):
        return _activated_rule
    if callable(getattr(m, "taylor", None)):
        return _elementwise_rule
    if callable(getattr(m, "jet", None)):
        return _own_rule
    return None


def unsupported(model: nn.Module) -> str | None:
    """None when forward mode covers `model`, else what it cannot take (a module's class name, or why)."""
    layers = _layers(model)
    if not layers:
        return "a model without an nn.Sequential `net`"
    for m in layers:
        if _rule(m) is None:
            return type(m).__name__
    return None


def supports_forward(model: nn.Module) -> bool:
    """True when every module of `model.net` (an nn.Sequential) has a forward-mode rule: nn.Linear, nn.Identity,
    a layer with `.linear` and an `.activation` that gives its Taylor terms (`siren.models.activations`), an
    elementwise activation with `taylor`, or a module with its own `jet` (the encodings)."""
    return unsupported(model) is None


# ---------------------------------------------------------------------------------------------------------------

def _chain_spec(layers):
    """(kind, omega, taylor) per layer (`_ChainGrad`) when every layer is an nn.Linear or an activated layer, else
    None."""
    spec = []
    for m in layers:
        if type(m) is nn.Linear:
            spec.append(("linear", 1.0, None))
        elif _activated(m) and m.activation.sine_frequency is not None:
            spec.append(("sine", float(m.activation.sine_frequency), None))
        elif _activated(m):
            spec.append(("act", 1.0, m.activation.taylor))
        else:
            return None
    return tuple(spec)


def _sine_chain(layers) -> bool:
    """Whether every layer is an nn.Linear or a sine layer (the in-place inference path)."""
    return all(type(m) is nn.Linear or (_activated(m) and m.activation.sine_frequency is not None) for m in layers)


def _out_features(layers) -> int | None:
    for m in reversed(layers):
        lin = m if type(m) is nn.Linear else getattr(m, "linear", None)
        if type(lin) is nn.Linear:
            return lin.out_features
    return None


def forward_derivatives(model: nn.Module, coords: torch.Tensor, request: Request = Request(), fused: bool = True,
                        strategy: str = "auto", latent: torch.Tensor | None = None) -> Derivatives:
    """Value and the requested derivatives of `model` in one pass, without autograd's double backward.

    coords: (N, d) (or (..., d), flattened to N points).  Returns `Derivatives` (value (N, C), gradient (N, C, d)
    when asked for, the second-order blocks of `request.blocks(d)`). The Jacobian blocks are propagated only when
    some derivative is asked for, second-order blocks only when asked for. Differentiable w.r.t. the parameters
    (and coords) to first order. latent: a modulated network's latent (`CoordinateMLP`), (L,) or (N, L); its
    shifts enter the pre-activations' values (constant in x), on the plain path.

    strategy: "taylor" propagates the jet forward (cost ~ K forward passes); "reverse" (gradient only, chains of
    activated and linear layers, fused) computes the gradient by a hand-written reverse sweep with a hand-written
    backward (cost ~ 1 + C passes, cheaper when C <= d); "auto" picks reverse for a gradient-only request on such a
    chain with C <= d, else taylor. `fused=False` uses plain torch ops only (taylor; differentiable to any order,
    slower). Raises ValueError when `supports_forward(model)` is False.
    """
    missing = unsupported(model)
    if missing is not None:
        raise ValueError(f"forward-mode derivatives do not support {type(model).__name__}: {missing} has no rule "
                         "(see siren.diff.forward.supports_forward; use mode='autograd')")
    return _forward(model, coords, request, fused, strategy, latent)


def _forward(model, coords, request, fused, strategy, latent):
    if strategy not in ("auto", "taylor", "reverse"):
        raise ValueError(f"unknown strategy {strategy!r} (choose auto, taylor or reverse)")
    layers = _layers(model)
    d = coords.shape[-1]
    x = coords.reshape(-1, d)
    N = x.shape[0]
    blocks = request.blocks(d)
    shifts = model.shifts(latent, x) if callable(getattr(model, "shifts", None)) else {}
    if shifts:
        fused = False                                           # the shifts enter the plain path's block 0
    if request.gradient and not blocks and fused and strategy != "taylor":
        spec = _chain_spec(layers)
        if spec is None and strategy == "reverse":
            raise ValueError("strategy='reverse' needs a chain of activated layers and nn.Linear layers")
        if spec is not None and (strategy == "reverse" or _out_features(layers) <= d):
            params = [t for m in layers for t in ((m.weight, m.bias) if type(m) is nn.Linear
                                                  else (m.linear.weight, m.linear.bias))]
            y, g = _ChainGrad.apply(x.contiguous(), spec, *params)
            return Derivatives(y, g.permute(1, 0, 2), {}, d)
    elif strategy == "reverse":
        raise ValueError("strategy='reverse' computes the gradient only (fused, without second derivatives)")
    nj = d if request.first_order else 0
    jet = _Jet(x, nj, blocks, fused)
    first = layers[0]
    if fused and _activated(first) and first.activation.sine_frequency is not None:
        S = None                                                # the first layer starts from x itself
    else:
        S = torch.cat([x[None]]
                      + ([torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, N, d)] if nj else [])
                      + ([x.new_zeros(len(blocks), N, d)] if blocks else []), 0)
    for k, m in enumerate(layers):
        S = _rule(m)(m, S, jet, shifts.get(k))
    return Derivatives(S[0], S[1:1 + d].permute(1, 2, 0) if request.gradient else None,
                       {pairs: S[1 + nj + k] for k, pairs in enumerate(blocks)}, d)


def inference(model: nn.Module, coords: torch.Tensor) -> torch.Tensor:
    """model(coords) without a graph, for rendering and meshing: a chain of sine / nn.Linear layers runs in place
    (h = W h + b through `siren.diff.gemm`, then h *= omega, sin in place: one buffer a layer, oneDNN's products on
    CPU); any other model is simply called. Same numbers as model(coords) up to round-off."""
    with torch.no_grad():
        layers = _layers(model)
        if not layers or not _sine_chain(layers) or getattr(model, "modulation", None) is not None:
            return model(coords)
        h = coords.reshape(-1, coords.shape[-1])
        for m in layers:
            lin = m if type(m) is nn.Linear else m.linear
            h = gemm.linear(h.contiguous(), lin.weight, lin.bias)
            if lin is not m:
                h.mul_(m.activation.sine_frequency).sin_()
        return h.reshape(*coords.shape[:-1], h.shape[-1])
