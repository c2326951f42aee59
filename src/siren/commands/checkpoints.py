"""`siren render` and `siren mesh`: a trained checkpoint -> a file, through its task's `render`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SirenError
from ..options import option
from ..run_folder import load_checkpoint, model_from_checkpoint
from ..tasks import REGISTRY, SDFTask
from ..train import resolve_device
from . import command

__all__ = ["RenderConfig", "MeshConfig", "render_checkpoint"]


def render_checkpoint(checkpoint: str, out: str, device: str = "auto", tasks: tuple[str, ...] | None = None,
                      **options) -> Path:
    """Rebuild the model of `checkpoint` on `device` and write `out` with its task's `render(model, meta, out,
    **options)` (meta: the checkpoint's task meta and, under "state", its task state); `tasks`: the task names
    accepted (default any task that renders). Returns the path written."""
    ckpt = load_checkpoint(checkpoint)
    meta = ckpt.get("task") or {}
    task = REGISTRY.get(meta.get("task"))
    if task is None or meta.get("batched") or (tasks is not None and task.name not in tasks):
        raise SirenError(f"this checkpoint's task {meta.get('task', 'unknown')!r} cannot be rendered here (this "
                         f"command renders {', '.join(tasks) if tasks else 'fits of single images, audio and video'})")
    model = model_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    task.render(model, {**meta, "state": ckpt.get("task_state") or {}}, out, **options)
    return out


@dataclass
class RenderConfig:
    checkpoint: str = option(None, "checkpoint.pt or its run folder", positional=True, required=True)
    size: int | None = option(None, "image, video: longer side of the output in pixels (default as trained)")
    rate: int | None = option(None, "audio: sample rate of the output in Hz (default as trained)")
    fps: float | None = option(None, "video: frames per second of the output (default as trained; the clip keeps "
                               "its duration)")
    out: str = option(None, "output file: PNG (image), WAV (audio) or MP4 (video)", required=True)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@command("render", "render a trained checkpoint at any resolution", RenderConfig)
def _render(c: RenderConfig) -> str:
    return f"wrote {render_checkpoint(c.checkpoint, c.out, c.device, size=c.size, rate=c.rate, fps=c.fps)}"


@dataclass
class MeshConfig:
    checkpoint: str = option(None, "checkpoint.pt or its run folder (of `siren sdf`)", positional=True,
                             required=True)
    resolution: int = option(256, "grid points per axis")
    out: str = option(None, "mesh file: .ply, .obj or .glb (in the input's units)", required=True)
    device: str = option("auto", "auto, cpu, cuda or cuda:N")


@command("mesh", "mesh the zero level set of a trained SDF (bounded memory, coarse to fine; pieces far from the "
         "input points dropped as in training)", MeshConfig)
def _mesh(c: MeshConfig) -> str:
    return f"wrote {render_checkpoint(c.checkpoint, c.out, c.device, tasks=(SDFTask.name,), size=c.resolution)}"
