"""How closely exported networks reproduce PyTorch: for each family and input dimension, a d -> 2 network (width
--width, --layers hidden layers, seeded) exported by `siren.export` with its gradient, Laplacian and Hessian
diagonal, run in onnxruntime and as a torch.export program on --points random points in [-1, 1]^d, against
PyTorch's own derivatives (`siren.diff.derivatives`, float32) and against float64 autograd.

    python benchmarks/export.py                          # siren, finer, gauss, wire; d = 1, 2, 3; 64 x 3; 4096 points
    python benchmarks/export.py --families siren --dims 2 --width 256

Printed: a markdown table of max |difference| / max |value| per output: onnxruntime's value, gradient, Laplacian
and Hessian diagonal against PyTorch's; the torch.export program's worst output against PyTorch's; and, for scale,
PyTorch's own float32 worst output against float64 autograd.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from siren.diff import derivatives
from siren.export import export_onnx, export_program, parse_derivatives
from siren.models import build_model

REQUEST = "gradient,laplacian,hessian_diagonal"


def outputs(d) -> list[np.ndarray]:
    return [t.detach().double().numpy() for t in (d.value, d.gradient, d.laplacian(), d.hessian_diagonal)]


def relative(got, want) -> list[float]:
    """max |got - want| / max |want| per output."""
    return [float(np.abs(np.asarray(g, np.float64) - w).max() / np.abs(w).max()) for g, w in zip(got, want)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default="siren,finer,gauss,wire")
    p.add_argument("--dims", default="1,2,3")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--points", type=int, default=4096)
    args = p.parse_args()
    import onnxruntime as ort
    request = parse_derivatives(REQUEST)
    print("| family | d | ONNX value | ONNX gradient | ONNX Laplacian | ONNX Hessian diagonal | torch.export (worst) "
          "| PyTorch float32 vs float64 (worst) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            for d in (int(v) for v in args.dims.split(",")):
                torch.manual_seed(0)
                model = build_model(family, d, 2, hidden_features=args.width, hidden_layers=args.layers).eval()
                onnx_path, program_path = Path(tmp) / "net.onnx", Path(tmp) / "net.pt2"
                export_onnx(model, onnx_path, request)
                export_program(model, program_path, request)
                x = torch.rand(args.points, d) * 2 - 1
                want = outputs(derivatives(model, x, request))
                exact = outputs(derivatives(model.double(), x.double(), request, mode="autograd"))
                model.float()
                session = ort.InferenceSession(str(onnx_path))
                got = session.run(None, {"coords": x.numpy()})
                program = torch.export.load(str(program_path)).module()
                with torch.no_grad():
                    got_program = [t.numpy() for t in program(x)]
                cells = [*relative(got, want), max(relative(got_program, want)), max(relative(want, exact))]
                print(f"| {family} | {d} | " + " | ".join(f"{c:.1e}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
