"""`siren export`: a run's network as a file other programs read: safetensors weights with their spec, or a graph
with the network's input derivatives as extra outputs (ONNX, a torch.export program). See `siren.portable` and
`siren.export`."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SirenError
from ..options import option
from ..runtime import require_writable
from . import command

__all__ = ["ExportConfig", "FORMATS"]

FORMATS = ("safetensors", "onnx", "exported")


@dataclass
class ExportConfig:
    run: str = option(None, "run folder or its checkpoint.pt", positional=True, required=True)
    format: str = option("safetensors", "safetensors (weights and spec: siren.load_model), onnx (onnxruntime; "
                         "needs the export extra) or exported (a torch.export program)", choices=list(FORMATS))
    out: str = option(None, "the file to write (.safetensors, .onnx, .pt2)", required=True)
    derivatives: str | None = option(None, "onnx/exported: extra outputs after value, comma-separated: gradient, "
                                     "laplacian, laplacian:<axes> (e.g. laplacian:1+2), hessian_diagonal, hessian",
                                     metavar="LIST")


def _single_network(model, task: dict, run: str) -> None:
    """A one-line SirenError unless `model` (a checkpoint's) is one coordinate network."""
    kind = model.spec["kind"]
    if kind != "coordinates" or task.get("batched"):
        what = "a batch of signals" if task.get("batched") or kind == "batched" else f"a {kind} model"
        raise SirenError(f"{run} is a run of {task.get('task', 'an unknown task')!r} whose network is {what}, not "
                         "one coordinate network (export a run of fit, sdf, poisson, solve, ...; or pass --format "
                         "safetensors for its weights)")


@command("export", "a run's network as safetensors weights (siren.load_model), or as an ONNX model or torch.export "
         "program with its gradient/Laplacian/Hessian as extra outputs", ExportConfig)
def _export(c: ExportConfig) -> str:
    from ..export import export_onnx, export_program, output_names, parse_derivatives
    from ..portable import network_of, save_weights
    from ..run_folder import load_checkpoint
    request = parse_derivatives(c.derivatives)
    if c.derivatives and c.format == "safetensors":
        raise SirenError("--derivatives applies to --format onnx or exported (safetensors holds the weights)")
    out = require_writable(c.out, folder=False)
    ckpt = load_checkpoint(c.run)
    model = network_of(ckpt, c.run)
    if c.format != "safetensors":
        _single_network(model, ckpt.get("task") or {}, c.run)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if c.format == "safetensors":
            save_weights(model, out, ckpt.get("task"))
            return f"wrote {out} (load it with siren.load_model)"
        write = export_onnx if c.format == "onnx" else export_program
        write(model, out, request, model.meta)
    except OSError as e:
        raise SirenError(f"cannot write {out}: {e.strerror or e} (choose another --out)") from None
    hard = ((ckpt.get("task") or {}).get("problem") or {}).get("hard")
    note = " (the network alone: the problem's hard constraints apply on top of it)" if hard else ""
    return f"wrote {out}: coords (N, {model.spec['in_features']}) -> {', '.join(output_names(request))}{note}"
