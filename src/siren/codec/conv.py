"""A 3 x 3 convolution (no padding) whose backward pass is made of forward convolutions.

    y = conv(x, w) + b:   x (N, C, H + 2, W + 2), w (C', C, 3, 3), b (C',) -> y (N, C', H, W)
    dL/dx = conv(pad(g, 2), flip(w)^T)   (w transposed in its channels, flipped in space)
    dL/dw = conv2d_weight(x, g),  dL/db = sum g

The same function as `F.conv2d`; on CPU, PyTorch's own backward computes dL/dx with a transposed convolution
that is several times slower than a forward one for the codec's few-channel, full-image convolutions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["conv3x3"]


class _Conv3x3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = F.conv2d(F.pad(grad, (2, 2, 2, 2)), weight.transpose(0, 1).flip(2, 3))
        if ctx.needs_input_grad[1]:
            gw = torch.nn.grad.conv2d_weight(x, weight.shape, grad)
        if ctx.needs_input_grad[2]:
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb


def conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """`F.conv2d(x, weight, bias)` for a 3 x 3 weight and no padding, differentiable in all three."""
    return _Conv3x3.apply(x, weight, bias)
