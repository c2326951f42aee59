"""`siren render` and `siren mesh`: a trained checkpoint -> a file, through its task's `render`.

The options of `siren render` depend on the checkpoint: those of its task's `Render` dataclass (an image's --size,
an audio clip's --rate, a video's --size and --fps, an SDF's --resolution).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SirenError
from ..options import Parser, add_arguments, from_args, option
from ..run_folder import load_checkpoint, model_from_checkpoint
from ..runtime import require_writable
from ..tasks import REGISTRY, SDFTask
from ..tasks.sdf import MESH_MEMORY, MESH_MEMORY_HELP
from ..train import resolve_device
from . import command

__all__ = ["RenderConfig", "MeshConfig", "render_checkpoint"]


def _renderable(ckpt: dict, tasks: tuple[str, ...] | None):
    """The task class of a checkpoint dict, if it renders (and is one of `tasks` when given)."""
    meta = ckpt.get("task") or {}
    task = REGISTRY.get(meta.get("task"))
    if task is None or task.Render is None or meta.get("batched") or (tasks is not None and task.name not in tasks):
        known = tasks or [n for n, t in REGISTRY.items() if t.Render is not None]
        raise SirenError(f"this checkpoint's task {meta.get('task', 'unknown')!r} cannot be rendered here (this "
                         f"command renders {', '.join(known)})")
    return task


def render_checkpoint(checkpoint: str, out: str, device: str = "auto", tasks: tuple[str, ...] | None = None,
                      **options) -> Path:
    """Rebuild the model of `checkpoint` on `device` and write `out` with its task's `render` and `options` (the
    fields of the task's Render dataclass); `tasks`: the task names accepted (default any task that renders).
    Returns the path written."""
    return _render(load_checkpoint(checkpoint), tasks, out, device, options)


def _render(ckpt: dict, tasks: tuple[str, ...] | None, out: str, device: str, options: dict) -> Path:
    """`render_checkpoint` of a loaded checkpoint dict."""
    task = _renderable(ckpt, tasks)
    fields = [f.name for f in dataclasses.fields(task.Render)]
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise SirenError(f"{', '.join(unknown)}: not an option of rendering {task.name!r} checkpoints "
                         f"(they take {', '.join(fields)})")
    out = require_writable(out, folder=False)
    model = model_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    task.render(model, {**ckpt["task"], "state": ckpt.get("task_state") or {}}, out, task.Render(**options))
    return out


def _options_help() -> str:
    return "; ".join(f"{name}: " + ", ".join("--" + f.name.replace("_", "-") for f in dataclasses.fields(t.Render))
                     for name, t in REGISTRY.items() if t.Render is not None)


@dataclass
class RenderConfig:
    checkpoint: str = option(None, "checkpoint.pt or its run folder", positional=True, required=True)
    out: str = option(None, "output file: PNG (image), WAV (audio), MP4 (video), PLY/OBJ/GLB (SDF)", required=True)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    extra: list[str] = field(default_factory=list)     # the task's render options, parsed with its Render


@command("render", f"render a trained checkpoint at any resolution (options by task: {_options_help()})",
         RenderConfig, extra=True)
def _render_command(c: RenderConfig) -> str:
    ckpt = load_checkpoint(c.checkpoint)
    task = _renderable(ckpt, None)
    parser = Parser(prog=f"siren render ({task.name} checkpoint)")
    add_arguments(parser, task.Render)
    parsed, unknown = parser.parse_known_args(c.extra)
    if unknown:
        takes = ", ".join(a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help")
        raise SirenError(f"{' '.join(unknown)}: not an option of rendering {task.name!r} checkpoints (they take "
                         f"{takes})")
    options = dataclasses.asdict(from_args(task.Render, parsed))
    return f"wrote {_render(ckpt, None, c.out, c.device, options)}"


@dataclass
class MeshConfig:
    checkpoint: str = option(None, "checkpoint.pt or its run folder (of `siren sdf`)", positional=True,
                             required=True)
    resolution: int = option(256, "grid points per axis")
    mesh_memory: float = option(MESH_MEMORY, MESH_MEMORY_HELP)
    out: str = option(None, "mesh file: .ply, .obj or .glb (in the input's units)", required=True)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@command("mesh", "mesh the zero level set of a trained SDF (bounded memory, coarse to fine; pieces far from the "
         "input points dropped as in training)", MeshConfig)
def _mesh(c: MeshConfig) -> str:
    path = render_checkpoint(c.checkpoint, c.out, c.device, tasks=(SDFTask.name,), resolution=c.resolution,
                             mesh_memory=c.mesh_memory)
    return f"wrote {path}"
