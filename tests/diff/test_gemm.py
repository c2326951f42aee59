import pytest
import torch

from siren.diff import gemm


@pytest.mark.parametrize("m,k,n", [(300, 256, 256), (257, 2, 64), (100, 64, 3), (64, 256, 1), (33, 17, 16)])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_equals_addmm(m, k, n, bias):
    g = torch.Generator().manual_seed(m + k + n)
    A, W = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g)
    b = torch.randn(n, generator=g) if bias else None
    expect = A.double() @ W.double().t() + (0 if b is None else b.double())
    with torch.no_grad():
        got = gemm.linear(A, W, b)
    assert got.shape == (m, n) and got.dtype == torch.float32
    assert torch.allclose(got.double(), expect, rtol=1e-5, atol=1e-5 * expect.abs().max().item())


def test_linear_transposed_weight_view_gives_a_times_b():
    g = torch.Generator().manual_seed(1)
    A, B = torch.randn(500, 128, generator=g), torch.randn(128, 96, generator=g)
    with torch.no_grad():
        got = gemm.linear(A, B.t())
    assert torch.allclose(got, A @ B, rtol=1e-5, atol=1e-4)


def test_linear_with_grad_enabled_stays_differentiable():
    A = torch.randn(40, 32, requires_grad=True)
    W = torch.randn(32, 32, requires_grad=True)
    gemm.linear(A, W).sum().backward()
    assert torch.allclose(A.grad, W.sum(0).expand(40, 32))


def test_float64_falls_back_to_torch():
    A, W = torch.randn(50, 32, dtype=torch.float64), torch.randn(24, 32, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(gemm.linear(A, W), A @ W.t())


@pytest.mark.parametrize("p,q", [(2, 256), (256, 3), (1, 64), (64, 64), (5, 7)])
def test_linear_tn_equals_transposed_product(p, q):
    g = torch.Generator().manual_seed(p * q)
    A, B = torch.randn(1000, p, generator=g), torch.randn(1000, q, generator=g)
    expect = A.double().t() @ B.double()
    with torch.no_grad():
        got = gemm.linear_tn(A, B)
    assert got.shape == (p, q)
    assert torch.allclose(got.double(), expect, rtol=1e-5, atol=1e-5 * expect.abs().max().item())


@pytest.mark.skipif(not gemm.bfloat16_available(), reason="needs a CPU with bfloat16 oneDNN kernels")
def test_medium_precision_computes_in_bfloat16_but_keeps_input_coordinates_float32():
    g = torch.Generator().manual_seed(3)
    A, W = torch.randn(256, 64, generator=g), torch.randn(32, 64, generator=g)
    x = torch.rand(256, 2, generator=g)
    exact = A.double() @ W.double().t()
    bf16 = (A.bfloat16().double() @ W.bfloat16().double().t())
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        with torch.no_grad():
            got, tn, first = gemm.linear(A, W), gemm.linear_tn(A, A), gemm.linear(x, W[:, :2])
    finally:
        torch.set_float32_matmul_precision(before)
    scale = exact.abs().max().item()
    assert got.dtype == torch.float32
    assert (got.double() - exact).abs().max() > 1e-4 * scale            # really reduced ...
    assert torch.allclose(got.double(), bf16, rtol=1e-2, atol=1e-2 * scale)   # ... to bfloat16 products
    assert torch.allclose(tn.double(), A.double().t() @ A.double(), rtol=2e-2, atol=2e-2 * 256)
    assert torch.allclose(first, x @ W[:, :2].t(), rtol=1e-6, atol=1e-6)   # 2 input coordinates stay float32
    with torch.no_grad():
        assert torch.allclose(gemm.linear(A, W).double(), exact, rtol=1e-5, atol=1e-5 * scale)


def test_medium_precision_without_bfloat16_kernels_stays_float32(monkeypatch):
    """On a CPU without bfloat16 kernels (forced here, so this runs on every machine) "medium" products are exact
    float32 and effective_precision falls back to "highest" with one warning."""
    monkeypatch.setattr(gemm, "_BF16", False)
    g = torch.Generator().manual_seed(4)
    A, W = torch.randn(256, 64, generator=g), torch.randn(32, 64, generator=g)
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        with torch.no_grad():
            got, tn = gemm.linear(A, W), gemm.linear_tn(A, A)
    finally:
        torch.set_float32_matmul_precision(before)
    assert torch.allclose(got.double(), A.double() @ W.double().t(), rtol=1e-5, atol=1e-4)
    assert torch.allclose(tn.double(), A.double().t() @ A.double(), rtol=1e-5, atol=1e-3)
    with pytest.warns(UserWarning, match="no bfloat16"):
        assert gemm.effective_precision("medium", torch.device("cpu")) == "highest"
    assert gemm.effective_precision("high", torch.device("cpu")) == "high"


def test_products_kept_float32_run_under_highest_whatever_the_cpu(monkeypatch):
    """PyTorch's own oneDNN kernels round float32 products to bfloat16 under "medium" on AMX / AVX512-BF16 CPUs.
    Every product this module keeps in float32 (here all of them: the probe forced off) must therefore run with
    the global precision at "highest"; recorded at the kernel call, so this holds on any CPU."""
    monkeypatch.setattr(gemm, "_BF16", False)
    seen = []
    for name in ("mm", "addmm"):
        real = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *a, _real=real, **k: (seen.append(torch.get_float32_matmul_precision()),
                                                                     _real(*a, **k))[1])
    A, W = torch.randn(64, 32), torch.randn(8, 32)           # 8 outputs: the torch.mm path, not oneDNN's
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        with torch.no_grad():
            gemm.linear(A, W), gemm.linear(A, W, torch.zeros(8)), gemm.linear_tn(A, A)
        after = torch.get_float32_matmul_precision()
    finally:
        torch.set_float32_matmul_precision(before)
    assert seen == ["highest"] * 3 and after == "medium"     # restored after each product
