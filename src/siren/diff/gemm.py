"""The matrix products of the fused derivative layers: y = A W^T (+ b), routed to the fastest CPU kernel.

On CPU, PyTorch's float32 `mm`/`addmm` call MKL's sgemm. For the tall-skinny products of a coordinate MLP (N points
x a few hundred features) oneDNN's inner-product kernel is markedly faster (docs/speed.md), with the same float32
arithmetic
(results agree to round-off). `linear` uses oneDNN through `torch.ops.mkldnn._linear_pointwise` (the op
TorchInductor emits for CPU linear layers) when it applies: float32 CPU tensors, a contiguous 2-D input, at least
16 output features (below that MKL's skinny-output path is faster), and a oneDNN-enabled PyTorch build. Everything
else (GPU tensors, float64, tiny outputs) goes to `torch.addmm` / `torch.mm`.

Reduced precision is opt-in through PyTorch's own switch, `torch.set_float32_matmul_precision`: with "medium",
CPU products whose inner and outer sizes are both >= 16 are computed in bfloat16 (inputs rounded to bfloat16,
float32 accumulation, the result rounded to bfloat16 and returned as float32); a first layer's few input
coordinates always stay float32. That needs a CPU whose oneDNN has bfloat16 kernels (AVX512-BF16 or AMX; not an
AVX2-only CPU): `bfloat16_available()` checks once per process, and `effective_precision` turns "medium" into
"highest" with one warning where it is missing. On GPUs "high" and "medium" select TF32 in cuBLAS as usual.

PyTorch's own oneDNN kernels read the same switch: on a CPU with bfloat16 kernels (AMX, AVX512-BF16), "medium"
makes `torch.mm` and oneDNN's linear compute float32 products in bfloat16 too. So every product that
`reduced_precision` keeps in float32 (skinny ones, or all of them where our probe says no) runs under a
temporary "highest" (`_float32`): the decision is this module's, on every CPU.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext

import torch

__all__ = ["linear", "full_float32", "linear_tn", "onednn_available", "bfloat16_available", "effective_precision",
           "reduced_precision"]

_MIN_OUT = 16


def _probe() -> bool:
    """Whether oneDNN's linear op exists in this build and agrees with torch.mm on a small product."""
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is None or not torch.backends.mkldnn.is_available():
        return False
    try:
        g = torch.Generator().manual_seed(0)
        a, w, b = torch.randn(8, 24, generator=g), torch.randn(20, 24, generator=g), torch.randn(20, generator=g)
        return torch.allclose(op(a, w, b, "none", [None], ""), torch.addmm(b, a, w.t()), rtol=1e-4, atol=1e-4)
    except (RuntimeError, NotImplementedError):
        return False


_ONEDNN: bool | None = None


def onednn_available() -> bool:
    """True when `linear` can route float32 CPU products to oneDNN (checked once per process)."""
    global _ONEDNN
    if _ONEDNN is None:
        _ONEDNN = _probe()
    return _ONEDNN


def _probe_bfloat16() -> bool:
    """Whether oneDNN computes a bfloat16 linear product here (it raises on CPUs without bfloat16 kernels)."""
    if not onednn_available():
        return False
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
        a, w = torch.ones(4, 32, dtype=torch.bfloat16), torch.ones(16, 32, dtype=torch.bfloat16)
        out = torch.ops.mkldnn._linear_pointwise(a, w, None, "none", [None], "")
        return bool((out.float() == 32).all())
    except (RuntimeError, NotImplementedError, AttributeError):
        return False


_BF16: bool | None = None


def bfloat16_available() -> bool:
    """True when CPU products can run in bfloat16 (precision "medium"; checked once per process)."""
    global _BF16
    if _BF16 is None:
        _BF16 = _probe_bfloat16()
    return _BF16


def effective_precision(precision: str, device: torch.device) -> str:
    """The float32 matmul precision to train with: `precision`, except "medium" on a CPU without bfloat16 kernels,
    which becomes "highest" with one warning (the run goes on in float32)."""
    if precision == "medium" and torch.device(device).type == "cpu" and not bfloat16_available():
        warnings.warn("--matmul-precision medium: this CPU has no bfloat16 matrix kernels (needs AVX512-BF16 or "
                      "AMX); training in float32", stacklevel=2)
        return "highest"
    return precision


def reduced_precision(A: torch.Tensor, k: int, n: int) -> bool:
    """Whether a float32 CPU product of inner size k and outer size n runs in bfloat16 (precision "medium" on a CPU
    with bfloat16 kernels)."""
    return (A.device.type == "cpu" and A.dtype == torch.float32 and min(k, n) >= _MIN_OUT
            and torch.get_float32_matmul_precision() == "medium" and bfloat16_available())


@contextmanager
def full_float32():
    """A context with torch's float32 matmul precision at "highest" (restored on exit): float32 products on every
    backend whatever the global setting."""
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


def _float32(A: torch.Tensor):
    """A context in which a float32 CPU product is computed in float32 whatever the global precision (PyTorch's
    oneDNN would otherwise round it to bfloat16 under "medium" on CPUs with bfloat16 kernels)."""
    if A.device.type == "cpu" and A.dtype == torch.float32 and torch.get_float32_matmul_precision() != "highest":
        return full_float32()
    return nullcontext()


def linear(A: torch.Tensor, W: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """A (M, k) @ W (n, k)^T (+ bias (n,)) -> (M, n). W may be a transposed view (pass B.t() to get A @ B)."""
    if torch.is_grad_enabled():   # autograd records the product: PyTorch's own kernels and precision switch
        return torch.mm(A, W.t()) if bias is None else torch.addmm(bias, A, W.t())
    if reduced_precision(A, A.shape[1], W.shape[0]) and A.dim() == 2 and A.is_contiguous() and onednn_available():
        bias = None if bias is None else bias.bfloat16()
        return torch.ops.mkldnn._linear_pointwise(A.bfloat16(), W.bfloat16(), bias, "none", [None], "").float()
    with _float32(A):
        if (A.device.type == "cpu" and A.dtype == torch.float32 and W.dtype == torch.float32 and A.dim() == 2
                and W.shape[0] >= _MIN_OUT and A.is_contiguous() and onednn_available()):
            return torch.ops.mkldnn._linear_pointwise(A, W, bias, "none", [None], "")
        return torch.mm(A, W.t()) if bias is None else torch.addmm(bias, A, W.t())


def linear_tn(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """A (M, p)^T @ B (M, q) -> (p, q) for tall A and B (a weight gradient: M points). With a skinny side (a first
    layer's d inputs, a last layer's outputs) that side is copied transposed (p x M floats) and the product goes to
    `linear`; BLAS is slow at (p x M)(M x q) with tiny p or q. Otherwise torch.mm, which handles the big
    reduction over M best."""
    p, q = A.shape[1], B.shape[1]
    if p < _MIN_OUT <= q:
        return linear(A.t().contiguous(), B.t())
    if q < _MIN_OUT <= p:
        return linear(B.t().contiguous(), A.t()).t()
    if torch.is_grad_enabled():
        return torch.mm(A.t(), B)
    if reduced_precision(A, A.shape[0], min(p, q)):
        return torch.mm(A.t().bfloat16(), B.bfloat16()).float()
    with _float32(A):
        return torch.mm(A.t(), B)
