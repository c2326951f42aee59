"""A per-column ReLU MLP evaluated in cache-sized blocks of columns, its backward recomputing the hidden layers.

    x (in, N) -> W_n relu(... relu(W_1 x + b_1) ...) + b_n   (out, N)

The same function as the layer-by-layer product, but no hidden activation of all N columns is ever written to
memory: forward and backward each walk the columns in blocks of BLOCK, so the few-channel products (memory-bound
when done whole) run from cache. For the latent-grid codec's synthesis network and entropy model, whose N is every
pixel or every latent.
"""
from __future__ import annotations

import torch

__all__ = ["BLOCK", "mlp"]

BLOCK = 16384


class _BlockedMLP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, *params)
        n = len(params) // 2
        out = x.new_empty(params[-2].shape[0], x.shape[1])
        for s in range(0, x.shape[1], BLOCK):
            h = x[:, s:s + BLOCK]
            for i in range(n):
                h = torch.addmm(params[2 * i + 1][:, None], params[2 * i], h)
                if i < n - 1:
                    h.relu_()
            out[:, s:s + BLOCK] = h
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, *params = ctx.saved_tensors
        n = len(params) // 2
        grads = [torch.zeros_like(p) for p in params]
        gx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        for s in range(0, x.shape[1], BLOCK):
            hs = [x[:, s:s + BLOCK]]
            for i in range(n - 1):
                hs.append(torch.addmm(params[2 * i + 1][:, None], params[2 * i], hs[-1]).relu_())
            d = grad[:, s:s + BLOCK]
            for i in range(n - 1, -1, -1):
                grads[2 * i].addmm_(d, hs[i].T)
                grads[2 * i + 1] += d.sum(1)
                if i > 0:
                    d = torch.ops.aten.threshold_backward(params[2 * i].T @ d, hs[i], 0)
                elif gx is not None:
                    torch.mm(params[0].T, d, out=gx[:, s:s + BLOCK])
        return (gx, *grads)


def mlp(x: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """x (in, N), layers [(weight (out, in), bias (out,))] -> (out_last, N), ReLU between layers (none after the
    last); differentiable in x and every weight and bias."""
    return _BlockedMLP.apply(x, *[t for w, b in layers for t in (w, b)])
