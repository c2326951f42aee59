"""A network and its input derivatives as a graph other runtimes run: ONNX (onnxruntime, web and mobile runtimes) and
`torch.export` programs.

    Exported(model, request)   coords (N, d) -> (value (N, C), then the requested derivatives in the order of
                               `output_names`): gradient (N, C, d), laplacian (N, C), laplacian_<axes> (N, C),
                               hessian_diagonal (N, C, d), hessian (N, C, d, d); w.r.t. the coordinates
    parse_derivatives(text)    "gradient,laplacian:1+2" -> a `siren.diff.Request`
    export_onnx(model, path, request, meta)       an .onnx file (needs the `export` extra: onnx, onnxscript)
    export_program(model, path, request, meta)    a `torch.export` program (torch.export.save; torch.export.load)

The derivatives are those of `siren.diff.forward.forward_derivatives(fused=False)`: forward-mode Taylor
propagation in plain tensor operations (matrix products, sin, cos, exp, ...), which every exporter takes; the batch
dimension N is dynamic. `meta` (`siren.portable.weights_meta`: spec, task record, conventions) goes into the
file: the ONNX model's metadata_props["siren"] and the program's extra file "siren.json".
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .diff.forward import forward_derivatives, unsupported
from .diff.request import Request
from .errors import SirenError
from .run_folder import to_json

__all__ = ["DERIVATIVES", "Exported", "parse_derivatives", "output_names", "export_onnx", "export_program"]

DERIVATIVES = ("gradient", "laplacian", "hessian_diagonal", "hessian")


def parse_derivatives(text: str | None) -> Request:
    """A comma-separated list of gradient, laplacian (every axis), laplacian:<axes> (e.g. laplacian:1+2, axes
    joined by +), hessian_diagonal, hessian -> the Request (empty text: the value only)."""
    gradient = hessian_diagonal = hessian = False
    groups: list = []
    for item in [t.strip() for t in (text or "").split(",") if t.strip()]:
        name, _, axes = item.partition(":")
        if name not in DERIVATIVES or (axes and name != "laplacian"):
            raise SirenError(f"unknown derivative {item!r} (choose from {', '.join(DERIVATIVES)}, or "
                             "laplacian:<axes> such as laplacian:1+2)")
        if name == "laplacian":
            try:
                groups.append(tuple(int(a) for a in axes.split("+")) if axes else None)
            except ValueError:
                raise SirenError(f"bad axes in {item!r} (write them as laplacian:0+1)") from None
        gradient |= name == "gradient"
        hessian_diagonal |= name == "hessian_diagonal"
        hessian |= name == "hessian"
    return Request(gradient=gradient, laplacian=groups or None, hessian_diagonal=hessian_diagonal, hessian=hessian)


def _group_name(group) -> str:
    return "laplacian" if group is None else "laplacian_" + "_".join(str(a) for a in sorted(set(group)))


def output_names(request: Request) -> list[str]:
    """The graph's output names for `request`: value, then gradient, the Laplacians, hessian_diagonal, hessian."""
    names = ["value"] + (["gradient"] if request.gradient else [])
    names += list(dict.fromkeys(_group_name(g) for g in request.groups))
    return names + (["hessian_diagonal"] if request.hessian_diagonal else []) + (["hessian"] if request.hessian else [])


class Exported(nn.Module):
    """`model` with its requested input derivatives as outputs (see the module docstring). coords (N, d)."""

    def __init__(self, model: nn.Module, request: Request = Request()):
        super().__init__()
        self.model, self.request = model, request
        self.names = output_names(request)

    def forward(self, coords: torch.Tensor) -> tuple[torch.Tensor, ...]:
        r = self.request
        if not (r.gradient or r.second_order):
            return (self.model(coords),)
        d = forward_derivatives(self.model, coords, r, fused=False)
        out = [d.value] + ([d.gradient] if r.gradient else [])
        seen = set()
        for g in r.groups:
            if _group_name(g) not in seen:
                seen.add(_group_name(g))
                out.append(d.laplacian(g))
        return tuple(out + ([d.hessian_diagonal] if r.hessian_diagonal else []) + ([d.hessian] if r.hessian else []))


def _prepared(model: nn.Module, request: Request) -> tuple[Exported, torch.Tensor]:
    """The wrapper on the CPU in eval mode, and an example input (8 points in [-1, 1]^d); a one-line SirenError
    when the derivatives asked for have no forward-mode rule in `model` or the axes do not fit."""
    model = copy.deepcopy(model).to("cpu").eval()
    d = getattr(model, "in_features", None) or (getattr(model, "spec", None) or {}).get("in_features")
    if (request.gradient or request.second_order):
        missing = unsupported(model)
        if missing is not None:
            name = (getattr(model, "spec", None) or {}).get("name", type(model).__name__)
            raise SirenError(f"the {name} network has no forward-mode derivative rule ({missing}), so its derivatives "
                             "cannot be exported (export it without --derivatives)")
        try:
            request.blocks(d)
        except ValueError as e:
            raise SirenError(f"{e}") from None
    coords = torch.linspace(-1.0, 1.0, 8 * d).reshape(8, d)
    return Exported(model, request).eval(), coords


@contextlib.contextmanager
def _quiet():
    """Without the exporter's progress lines, warnings and log notes (e.g. on torchvision's absent operators)."""
    logs = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)


def _batch():
    return {"coords": {0: torch.export.Dim.DYNAMIC}}


def _exported_program(net: Exported, coords: torch.Tensor):
    with torch.no_grad():
        return torch.export.export(net, (coords,), dynamic_shapes=_batch())


def export_program(model: nn.Module, path: str | os.PathLike, request: Request = Request(),
                   meta: dict | None = None) -> Path:
    """Write `Exported(model, request)` as a torch.export program (`torch.export.load(path).module()(coords)`
    returns the outputs of `output_names(request)`); `meta` in its extra file siren.json. Returns the path."""
    net, coords = _prepared(model, request)
    with _quiet():
        program = _exported_program(net, coords)
    path = Path(path)
    extra = {"siren.json": to_json({**(meta or {}), "outputs": net.names}, default=str)}
    torch.export.save(program, str(path), extra_files=extra)
    return path


def export_onnx(model: nn.Module, path: str | os.PathLike, request: Request = Request(), meta: dict | None = None,
                opset: int | None = None) -> Path:
    """Write `Exported(model, request)` as an ONNX model: input "coords" (N, d) float32, outputs named by
    `output_names(request)`, N dynamic; `meta` in metadata_props["siren"]. Needs onnx and onnxscript (the
    `export` extra). Returns the path."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise SirenError("ONNX export needs onnx and onnxscript (pip install 'siren-inr[export]')") from None
    net, coords = _prepared(model, request)
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(net, (coords,), input_names=["coords"], output_names=net.names,
                                    dynamic_shapes=_batch(), dynamo=True, verbose=False, opset_version=opset)
    program.model.metadata_props["siren"] = to_json({**(meta or {}), "outputs": net.names}, default=str)
    path = Path(path)
    program.save(str(path))
    return path
