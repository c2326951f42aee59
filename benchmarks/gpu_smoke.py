"""One command that checks the GPU path: run it on any machine with CUDA; without CUDA it says so and exits 0.

    python benchmarks/gpu_smoke.py                    # every check on cuda
    python benchmarks/gpu_smoke.py --json gpu.json    # also the rows as JSON
    python benchmarks/gpu_smoke.py --device cpu       # the same checks on the CPU (to test this script)

Checks, one row each (docs/speed.md shows the output):
    train <task>       every registered training command (`siren.tasks.REGISTRY`), its tiny example input, a
                       32-wide network, --steps steps on the device, through the CLI: exit code 0 and finite
                       metrics
    diff <family> <r>  forward-mode derivatives (`siren.diff`, the default path) of siren, finer, gauss and wire
                       2 -> 3 networks against float64 autograd on the device, per request (gradient, Laplacian,
                       Hessian diagonal): max |difference| / max |value| below 1e-4
    codec decode       the .sirz file of siren 0.2.0 (tests/data/v0_2_0) decodes bit for bit to what that release
                       decoded; its network rendered on the device: the pixels that differ by more than 1 level
    compile            torch.compile of a training step on forward mode's plain path (256 x 3 SIREN, Laplacian
                       loss, --points 65,536) against the eager default (fused) step on the device: the loss agrees
                       to 1e-4, and the median step times
    step time          the same eager step on the device against the CPU (median of --repeats)

Printed: a markdown table | check | result | detail | seconds |, then one line "N passed, N failed" (the exit code is
1 when a check failed). Later features add their rows here.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden-features", "32", "--hidden-layers", "1", "--log-every", "1", "--no-progress", "--no-report"]
TOLERANCE = 1e-4


class Rows:
    """The table: each check's name, PASS / FAIL, a detail and its seconds."""

    def __init__(self):
        self.rows = []

    def run(self, name: str, check) -> None:
        """check() -> (passed, detail); an exception is a FAIL with its last line."""
        start = time.perf_counter()
        try:
            passed, detail = check()
        except Exception as e:  # a check that crashes is a failed check, and the others still run
            passed, detail = False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            traceback.print_exc(file=sys.stderr)
        row = {"check": name, "result": "PASS" if passed else "FAIL", "detail": detail,
               "seconds": round(time.perf_counter() - start, 2)}
        self.rows.append(row)
        print(f"| {row['check']} | {row['result']} | {row['detail']} | {row['seconds']:.1f} |", flush=True)


def train_checks(rows: Rows, device: str, steps: int, folder: Path) -> None:
    from siren.cli import main
    from siren.tasks import REGISTRY
    for name in sorted(REGISTRY):
        def check(name=name):
            inputs = folder / name.replace(" ", "_") / "inputs"
            inputs.mkdir(parents=True)
            out = inputs.parent / "run"
            code = main([*name.split(), *REGISTRY[name].example_args(inputs), *TINY, "--steps", str(steps),
                         "--device", device, "--out", str(out)])
            if code != 0:
                return False, f"exit code {code}"
            metrics = json.loads((out / "metrics.json").read_text())["metrics"]
            bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
            key = REGISTRY[name].metric_name
            shown = f"{key} {metrics[key]:.4g}" if isinstance(metrics.get(key), (int, float)) else "done"
            return not bad, shown + (f"; not finite: {', '.join(bad)}" if bad else "")
        rows.run(f"train {name}", check)


def diff_checks(rows: Rows, device: str) -> None:
    from siren.diff import derivatives
    from siren.diff.request import Request
    from siren.models import build_model
    requests = {"gradient": Request(gradient=True), "laplacian": Request(laplacian=True),
                "hessian_diagonal": Request(hessian_diagonal=True)}
    for family in ("siren", "finer", "gauss", "wire"):
        torch.manual_seed(0)
        model = build_model(family, 2, 3, hidden_features=64, hidden_layers=2).to(device)
        exact = build_model(family, 2, 3, hidden_features=64, hidden_layers=2).to(device).double()
        exact.load_state_dict(model.state_dict())
        x = torch.rand(4096, 2, device=device) * 2 - 1
        for label, request in requests.items():
            def check(request=request, label=label):
                got = derivatives(model, x, request, mode="forward")
                want = derivatives(exact, x.double(), request, mode="autograd")
                pick = {"gradient": lambda d: d.gradient, "laplacian": lambda d: d.laplacian(),
                        "hessian_diagonal": lambda d: d.hessian_diagonal}[label]
                err = float((pick(got).double() - pick(want)).abs().max() / pick(want).abs().max())
                return err < TOLERANCE, f"max rel. difference {err:.1e} (bound {TOLERANCE:g})"
            rows.run(f"diff {family} {label}", check)


def codec_check(rows: Rows, device: str) -> None:
    def check():
        from siren.codec.siren_file import load_network, render
        from siren.codec.format import unpack
        from siren.data.image import load_image
        old = ROOT / "tests" / "data" / "v0_2_0"
        data = (old / "old.sirz").read_bytes()
        header, payload = unpack(data, "old.sirz")
        model = load_network(header, payload)
        pixels = render(model, header.size)
        want = np.round(load_image(old / "old_decoded.png") * 255).astype(np.uint8).reshape(pixels.shape)
        exact = np.array_equal(pixels, want)
        coords_device = render_on(model.to(device), header.size)
        off = int((np.abs(coords_device.astype(int) - want.astype(int)) > 1).sum())
        return exact, f"bit for bit: {'yes' if exact else 'NO'}; rendered on {device}: {off} values off by > 1 level"
    rows.run("codec decode", check)


@torch.no_grad()
def render_on(model, size) -> np.ndarray:
    """The codec's rendering rule on the model's device: round(255 clip((y + 1) / 2))."""
    from siren.data.grid import grid
    device = next(model.parameters()).device
    out = model(grid(size, device=device))
    return torch.floor(((out + 1) / 2).clamp(0, 1) * 255 + 0.5).to(torch.uint8).reshape(*size, -1).cpu().numpy()


def _step(model, x, opt, fused: bool = True):
    """One training step of a Laplacian loss (forward mode, fused or plain torch ops); returns the loss."""
    from siren.diff.forward import forward_derivatives
    from siren.diff.request import Request
    loss = forward_derivatives(model, x, Request(laplacian=True), fused=fused).laplacian().pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    return loss


def _plain_step(model, x, opt):
    return _step(model, x, opt, fused=False)


def _median_step(model, x, repeats: int, fn=_step) -> tuple[float, float]:
    """(median seconds of a step after one warm-up, the first step's loss) on fixed weights (lr 0)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    first = float(fn(model, x, opt))
    times = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        fn(model, x, opt)
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times), first


def step_checks(rows: Rows, device: str, repeats: int, points: int) -> None:
    from siren.models import build_model
    torch.manual_seed(0)
    model = build_model("siren", 2, 1, hidden_features=256, hidden_layers=3)
    x = torch.rand(points, 2) * 2 - 1

    def compiled():
        m, xd = model.to(device), x.to(device)
        eager, loss = _median_step(m, xd, repeats)
        start = time.perf_counter()
        step = torch.compile(_plain_step)
        first = float(step(m, xd, torch.optim.SGD(m.parameters(), lr=0.0)))
        compile_s = time.perf_counter() - start
        fast, _ = _median_step(m, xd, repeats, step)
        agree = abs(first - loss) <= TOLERANCE * abs(loss)
        return agree, (f"loss {'agrees' if agree else 'DIFFERS'} ({first:.6g} vs {loss:.6g}); eager {1e3 * eager:.1f} "
                       f"ms, compiled {1e3 * fast:.1f} ms ({eager / fast:.2f}x) after {compile_s:.0f} s to compile")
    rows.run("compile", compiled)

    def against_cpu():
        here, _ = _median_step(model.to(device), x.to(device), repeats)
        cpu, _ = _median_step(model.to("cpu"), x, max(1, repeats // 2))
        return True, (f"{device} {1e3 * here:.1f} ms, cpu {1e3 * cpu:.0f} ms ({cpu / here:.1f}x, "
                      f"{torch.get_num_threads()} threads)")
    rows.run("step time", against_cpu)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu to test this script")
    p.add_argument("--steps", type=int, default=5, help="training steps per command")
    p.add_argument("--repeats", type=int, default=5, help="timed steps per step-time measurement")
    p.add_argument("--points", type=int, default=65536, help="points of the timed training step")
    p.add_argument("--only", default="train,diff,codec,compile", help="comma-separated: train, diff, codec, compile")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_smoke: skipped, no CUDA device (torch.cuda.is_available() is False; --device cpu runs the checks "
              "on the CPU)")
        return 0
    name = torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda") else "cpu"
    print(f"gpu_smoke on {name}, torch {torch.__version__}\n")
    print("| check | result | detail | seconds |\n|---|---|---|---|")
    rows, only = Rows(), set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        if "train" in only:
            train_checks(rows, args.device, args.steps, Path(tmp))
        if "diff" in only:
            diff_checks(rows, args.device)
        if "codec" in only:
            codec_check(rows, args.device)
        if "compile" in only:
            step_checks(rows, args.device, args.repeats, args.points)
    failed = sum(r["result"] == "FAIL" for r in rows.rows)
    print(f"\n{len(rows.rows) - failed} passed, {failed} failed")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows.rows},
                                              indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
