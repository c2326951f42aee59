"""Training-step speed of `siren.diff` (mode="forward") against the plain autograd reference, on CPU.

    python benchmarks/speed.py                  # Siren(2, 256, 3, 1) on a 256 x 256 grid, 7 steps, 2 threads
    python benchmarks/speed.py --size 64 --steps 5 --cases lap,grad
    python benchmarks/speed.py --precision --cases fit,lap   # siren.diff in float32 vs matmul precision "medium"
    python benchmarks/speed.py --model finer --cases grad,lap  # another family of siren.models, 256 x 4 as SIREN
    python benchmarks/speed.py --families       # every family x request kind: forward, autograd, and the default

--families: for each coordinate family and each request kind (gradient, Laplacian, Hessian diagonal), a 2 -> 100 x 5
-> 1 network on 8,192 random points in [-1, 1]^2 and the loss sum of the squared derivative, one training step
(forward + backward) by `siren.diff.derivatives` in mode "forward", "autograd" and "auto" (the default path, whose
choice is `siren.diff.prefers_autograd`), alternating, on `--threads` threads.

For each case both sides compute the same loss on the same weights, in the same process, alternating step by step
(forward + backward, no optimizer step, so the weights never change). The reference is written here the way the
original SIREN code does it: y = model(x), torch.autograd.grad(y, x, grad_outputs=ones, create_graph=True), the
Laplacian as a divergence by looping over the input dimensions. Printed: median seconds per step, speed ratio,
relative loss difference and largest relative parameter-gradient difference, matmul GFLOP/s achieved (FLOPs of
the matrix products counted by a dispatch mode) against a measured float32 matmul peak, and peak resident memory
of one step per side (VmHWM of a fresh child process; --no-memory skips it).

By default the process first calls `siren.runtime.tune_allocator()` (both sides profit; the reference more, since
it allocates more); --no-tune measures with glibc's default allocator. CPU timings on a machine shared with other
work are noisy: compare medians of several runs. Memory: at 256 x 256 the autograd side of the Helmholtz case
peaks near 13 GiB (Laplacian case: 7 GiB); use --size 128 or --cases to stay small.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from siren.diff import value_and_derivatives
from siren.models import build_model
from machine import cpu_name, peak_rss

CASES = ("fit", "grad", "lap", "eikonal", "helmholtz")
TITLES = {"fit": "plain fit (MSE on value)", "grad": "gradient loss (MSE on grad)",
          "lap": "Laplacian loss (MSE on lap)", "eikonal": "Eikonal SDF loss (3-D, 3x256)",
          "helmholtz": "Helmholtz residual (2 outputs)"}


# ----------------------------------------------------------------------------- reference derivatives (autograd)

def ref_gradient(y, x):
    """Reference-code style gradient of one output channel: y (N, 1), x (N, d) -> (N, d)."""
    return torch.autograd.grad(y, [x], grad_outputs=torch.ones_like(y), create_graph=True)[0]


def ref_divergence(g, x):
    div = 0.0
    for i in range(g.shape[-1]):
        div = div + torch.autograd.grad(g[..., i], x, torch.ones_like(g[..., i]), create_graph=True)[0][..., i:i + 1]
    return div


def ref_derivatives(model, coords, gradient, laplacian):
    x = coords.clone().requires_grad_(True)
    y = model(x)
    grads, laps = [], []
    if gradient or laplacian:
        for c in range(y.shape[1]):
            g = ref_gradient(y[:, c:c + 1], x)
            grads.append(g)
            if laplacian:
                laps.append(ref_divergence(g, x))
    grad = torch.stack(grads, 1) if gradient else None
    lap = torch.cat(laps, 1) if laplacian else None
    return y, grad, lap


def fwd_derivatives(model, coords, gradient, laplacian):
    return value_and_derivatives(model, coords, gradient=gradient, laplacian=laplacian, mode="forward")


# ----------------------------------------------------------------------------- the cases

def grid(n, d=2):
    lin = torch.linspace(-1, 1, n)
    return torch.stack(torch.meshgrid(*[lin] * d, indexing="ij"), -1).reshape(-1, d)


def make_case(name, size, eik_points, seed=0, family="siren"):
    """-> (model, coords, needs (gradient, laplacian), loss(value, grad, lap) -> scalar); the network: `family` of
    the registry, 256 wide, 3 hidden layers after the first (for siren: Siren(d, 256, 3, C))."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    def net(d, width, layers, c):
        return build_model(family, d, c, hidden_features=width, hidden_layers=layers)
    if name == "eikonal":
        model = net(3, 256, 3, 1)
        n = eik_points
        surf = torch.randn(n, 3, generator=g)
        normals = surf / surf.norm(dim=1, keepdim=True)
        coords = torch.cat([0.5 * normals, torch.rand(n, 3, generator=g) * 2 - 1])
        on = torch.zeros(2 * n, dtype=torch.bool)
        on[:n] = True

        def loss(v, gr, lap):
            gr = gr[:, 0]
            sdf = v[on].abs().mean() * 3e3
            inter = torch.exp(-1e2 * v[~on].abs()).mean() * 1e2
            normal = (1 - torch.nn.functional.cosine_similarity(gr[on], normals, dim=-1)).mean() * 1e2
            eik = (gr.norm(dim=-1) - 1).abs().mean() * 5e1
            return sdf + inter + normal + eik
        return model, coords, (True, False), loss
    coords = grid(size)
    N = coords.shape[0]
    if name == "helmholtz":
        model = net(2, 256, 3, 2)
        k = 20.0
        source = torch.exp(-(coords ** 2).sum(1) / (2 * 0.05 ** 2))[:, None] * torch.tensor([1.0, 0.0])

        def loss(v, gr, lap):
            return ((lap + k ** 2 * v + source) ** 2).mean()
        return model, coords, (False, True), loss
    model = net(2, 256, 3, 1)
    if name == "fit":
        target = torch.rand(N, 1, generator=g)
        return model, coords, (False, False), lambda v, gr, lap: ((v - target) ** 2).mean()
    if name == "grad":
        target = torch.randn(N, 1, 2, generator=g)
        return model, coords, (True, False), lambda v, gr, lap: ((gr - target) ** 2).mean()
    if name == "lap":
        target = torch.randn(N, 1, generator=g) * 100
        return model, coords, (False, True), lambda v, gr, lap: ((lap - target) ** 2).mean()
    raise ValueError(name)


def step(model, coords, needs, loss, derivs):
    model.zero_grad(set_to_none=True)
    v, gr, lap = derivs(model, coords, *needs)
    out = loss(v, gr, lap)
    out.backward()
    return out.item()


# ----------------------------------------------------------------------------- measurement helpers

def matmul_peak(reps=5):
    """Best float32 GFLOP/s of a few GEMMs shaped like a SIREN layer's: torch.mm (MKL) and, when present, the
    oneDNN product that `siren.diff.gemm` uses."""
    from siren.diff import gemm
    best = 0.0
    for m, k, n in ((8192, 256, 256), (65536, 256, 256), (2048, 1024, 1024)):
        a, b = torch.randn(m, k), torch.randn(n, k)
        products = [lambda: torch.mm(a, b.t())]
        if gemm.onednn_available():
            products.append(lambda: torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [None], ""))
        for f in products:
            f()
            for _ in range(reps):
                t = time.perf_counter()
                f()
                best = max(best, 2 * m * k * n / (time.perf_counter() - t) / 1e9)
    return best


def count_flops(fn):
    """Matrix-product FLOPs (mm, addmm, bmm, baddbmm, oneDNN linear) of everything `fn` runs, forward and backward."""
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten
    onednn = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    total = [0]

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            packet = func.overloadpacket
            if packet in (aten.mm, aten.addmm, aten.bmm, aten.baddbmm):
                a, b = (args[0], args[1]) if packet in (aten.mm, aten.bmm) else (args[1], args[2])
                total[0] += 2 * a.numel() * b.shape[-1]
            elif onednn is not None and packet == onednn:
                total[0] += 2 * args[0].numel() * args[1].shape[0]
            return func(*args, **(kwargs or {}))

    with Counter():
        fn()
    return total[0]


def child_peak_rss_mb(args, case, side):
    """Peak RSS (MiB) of a fresh process that builds the case and runs one step of one side."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", f"{case}:{side}", "--size", str(args.size),
           "--threads", str(args.threads), "--eik-points", str(args.eik_points), "--model", args.model]
    if args.no_tune:
        cmd.append("--no-tune")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def grad_rel_diff(model, coords, needs, loss):
    step(model, coords, needs, loss, ref_derivatives)
    g_ref = [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()]
    step(model, coords, needs, loss, fwd_derivatives)
    g_fwd = [torch.zeros_like(p) if p.grad is None else p.grad for p in model.parameters()]
    return max(((g - r).norm() / r.norm().clamp_min(1e-30)).item() for g, r in zip(g_fwd, g_ref))


# ----------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=256, help="grid side: size x size coordinates (default 256)")
    ap.add_argument("--steps", type=int, default=7, help="timed steps per side (medians reported; default 7)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    ap.add_argument("--eik-points", type=int, default=5000, help="Eikonal: on-surface = off-surface points")
    ap.add_argument("--no-tune", action="store_true", help="skip siren.runtime.tune_allocator()")
    ap.add_argument("--no-memory", action="store_true", help="skip the per-side peak-memory child processes")
    ap.add_argument("--precision", action="store_true",
                    help="instead: time siren.diff with float32 products against matmul precision 'medium'")
    ap.add_argument("--model", default="siren", help="network family of siren.models (default siren)")
    ap.add_argument("--families", action="store_true",
                    help="instead: every family x request kind, forward against autograd and the default path")
    ap.add_argument("--only", help="with --families: comma-separated families (default every one)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    tuned = False
    if not args.no_tune:
        from siren.runtime import tune_allocator
        tuned = tune_allocator()
    torch.set_num_threads(args.threads)

    if args.child:                                           # one step of one side, then report peak RSS
        case, side = args.child.split(":")
        model, coords, needs, loss = make_case(case, args.size, args.eik_points, family=args.model)
        step(model, coords, needs, loss, ref_derivatives if side == "ref" else fwd_derivatives)
        print(peak_rss() / 2 ** 20)
        return

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"unknown case(s) {', '.join(sorted(unknown))} (choose from {', '.join(CASES)})")

    if args.precision:
        return precision_table(cases, args)
    if args.families:
        return family_table(args)
    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU: {cpu_name()} "
          f"({os.cpu_count()} logical CPUs), allocator tuned: {tuned}; model {args.model} 256 x 4")
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s; grid {args.size}x{args.size} = {args.size ** 2} points; "
          f"Eikonal {2 * args.eik_points} points; {args.steps} timed steps per side (median)\n")
    head = ("| case | points | autograd s/step | forward s/step | speed-up | loss rel diff | grad rel diff "
            "| GFLOP/s autograd | GFLOP/s forward | peak MiB autograd | peak MiB forward |")
    print(head)
    print("|" + "|".join(["---"] * (head.count("|") - 1)) + "|")
    for case in cases:
        model, coords, needs, loss = make_case(case, args.size, args.eik_points, family=args.model)
        sides = {"ref": ref_derivatives, "fwd": fwd_derivatives}
        times = {s: [] for s in sides}
        losses = {}
        for s, fn in sides.items():                          # warm-up
            losses[s] = step(model, coords, needs, loss, fn)
        for _ in range(args.steps):
            for s, fn in sides.items():
                t = time.perf_counter()
                losses[s] = step(model, coords, needs, loss, fn)
                times[s].append(time.perf_counter() - t)
        med = {s: statistics.median(v) for s, v in times.items()}
        flops = {s: count_flops(lambda fn=fn: step(model, coords, needs, loss, fn)) for s, fn in sides.items()}
        gdiff = grad_rel_diff(model, coords, needs, loss)
        if args.no_memory:
            mem = {"ref": math.nan, "fwd": math.nan}
        else:
            mem = {s: child_peak_rss_mb(args, case, s) for s in sides}
        print(f"| {TITLES[case]} | {coords.shape[0]} | {med['ref']:.3f} | {med['fwd']:.3f} "
              f"| {med['ref'] / med['fwd']:.2f}x | {rel(losses['ref'], losses['fwd']):.1e} | {gdiff:.1e} "
              f"| {flops['ref'] / med['ref'] / 1e9:.1f} ({flops['ref'] / 1e9:.0f} GF) "
              f"| {flops['fwd'] / med['fwd'] / 1e9:.1f} ({flops['fwd'] / 1e9:.0f} GF) "
              f"| {mem['ref']:.0f} | {mem['fwd']:.0f} |", flush=True)
    print(f"\nGFLOP/s: matmul FLOPs per step / median step time (peak {peak:.1f}). "
          f"Process ru_maxrss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB.")


REQUESTS = {"gradient": dict(gradient=True), "Laplacian": dict(laplacian=True),
            "Hessian diagonal": dict(hessian_diagonal=True)}


def family_table(args, points=8192, width=100, layers=4):
    """The --families table (see the module docstring)."""
    from siren.diff import Request, derivatives, prefers_autograd, supports_forward
    from siren.models import MODEL_NAMES
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU: {cpu_name()}; {points} points, "
          f"2 -> {width} x {layers + 1} -> 1; {args.steps} timed steps per side (median)\n")
    print("| family | request | forward s/step | autograd s/step | forward speed-up | default path |")
    print("|---|---|---|---|---|---|")
    x = torch.rand(points, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for family in (args.only.split(",") if args.only else MODEL_NAMES):
        torch.manual_seed(0)
        model = build_model(family, 2, 1, hidden_features=width, hidden_layers=layers)
        for title, asked in REQUESTS.items():
            request = Request(**asked)
            if not supports_forward(model):
                print(f"| {family} | {title} | - | - | - | autograd (no forward rule) |", flush=True)
                continue

            def one(mode):
                d = derivatives(model, x, request, mode=mode)
                out = d.gradient if request.gradient else (d.laplacian() if request.groups else d.hessian_diagonal)
                model.zero_grad(set_to_none=True)
                out.pow(2).sum().backward()
            times = {"forward": [], "autograd": []}
            for rep in range(args.steps + 1):
                for mode in times:
                    t = time.perf_counter()
                    one(mode)
                    if rep:
                        times[mode].append(time.perf_counter() - t)
            med = {m: statistics.median(v) for m, v in times.items()}
            default = "autograd" if prefers_autograd(model, request) else "forward"
            print(f"| {family} | {title} | {med['forward']:.3f} | {med['autograd']:.3f} "
                  f"| {med['autograd'] / med['forward']:.2f}x | {default} |", flush=True)


def precision_table(cases, args):
    """siren.diff steps with float32 products against torch.set_float32_matmul_precision("medium") (bfloat16
    products on CPU, see siren.diff.gemm), alternating step by step on the same weights."""
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU: {cpu_name()}; "
          f"{args.steps} timed steps per side (median)\n")
    print("| case | points | float32 s/step | medium s/step | speed-up | loss rel diff |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        model, coords, needs, loss = make_case(case, args.size, args.eik_points, family=args.model)
        times, losses = {"highest": [], "medium": []}, {}
        try:
            for rep in range(args.steps + 1):
                for precision in times:
                    torch.set_float32_matmul_precision(precision)
                    t = time.perf_counter()
                    losses[precision] = step(model, coords, needs, loss, fwd_derivatives)
                    if rep:                                  # the first round is the warm-up
                        times[precision].append(time.perf_counter() - t)
        finally:
            torch.set_float32_matmul_precision("highest")
        med = {p: statistics.median(v) for p, v in times.items()}
        print(f"| {TITLES[case]} | {coords.shape[0]} | {med['highest']:.3f} | {med['medium']:.3f} "
              f"| {med['highest'] / med['medium']:.2f}x | {rel(losses['highest'], losses['medium']):.1e} |", flush=True)


if __name__ == "__main__":
    main()
