"""A run's outputs inside the page: pictures, sound and video as data: URIs (or links when large), meshes as the
inline viewer's JSON."""
from __future__ import annotations

import base64
import math
import os
from pathlib import Path
from urllib.parse import quote

from .runs import Run
from .text import esc

MAX_EMBED_BYTES = 20_000_000
MAX_MESH_FACES = 20_000
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
        ".svg": "image/svg+xml", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
        ".mp3": "audio/mpeg", ".mp4": "video/mp4", ".webm": "video/webm"}
SHOWN = ("image", "figure", "audio", "video", "mesh")  # output kinds embedded; the others are listed


class Media:
    """Embeds outputs in one page written to the folder `base`; `scripts` collects the meshes' JSON <script>s (the
    page puts them at its end, with the viewer)."""

    def __init__(self, base: Path):
        self.base, self.scripts = base, []

    def tile(self, run: Run, output: dict, index: int) -> str:
        """<figure> of one output (a kind in SHOWN) of run number `index`: the media, or a note why not, and its
        path and caption."""
        kind, path = output["kind"], run.path / output["path"]
        src = self.src(path) if path.is_file() and kind != "mesh" else None
        if not path.is_file():
            media = f'<p class="muted">missing: {esc(output["path"])}</p>'
        elif kind == "mesh":
            media = self.mesh(path, index)
        elif src is None:
            media = f'<p class="muted">not embedded: browsers do not show {esc(path.suffix)} files</p>'
        elif kind == "audio":
            media = f'<audio controls preload="metadata" src="{src}"></audio>'
        elif kind == "video":
            media = f'<video controls loop muted playsinline preload="auto" src="{src}"></video>'
        else:
            width = _png_width(path)
            if kind == "image" and width:  # small pictures enlarged by a whole factor to at least 256 px, crisp
                width *= math.ceil(256 / width)
            size = f' width="{width}"' if width else ""
            media = (f'<img class="{"pixels" if kind == "image" else "figure"}"{size} '
                     f'alt="{esc(output.get("caption", ""))}" src="{src}">')
        return (f'<figure class="tile">{media}<figcaption><span class="path">{esc(output["path"])}</span> · '
                f'{esc(output.get("caption", ""))}</figcaption></figure>')

    def src(self, path: Path) -> str | None:
        """data: URI of a media file, its URL relative to the page when larger than MAX_EMBED_BYTES, None when
        browsers do not show its format."""
        mime = MIME.get(path.suffix.lower())
        if mime is None:
            return None
        if path.stat().st_size > MAX_EMBED_BYTES:
            return self.href(path)
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def href(self, path: Path) -> str:
        """URL of `path` relative to the page."""
        return quote(Path(os.path.relpath(path.resolve(), self.base.resolve())).as_posix())

    def mesh(self, path: Path, index: int) -> str:
        """The viewer's <canvas> for the mesh file at `path` (at most MAX_MESH_FACES faces shown) and a note of its
        size; its JSON goes to `scripts`. An unreadable file gets a note instead."""
        import trimesh

        from ..mesh import viewer_json
        try:
            mesh = trimesh.load(path, force="mesh")
            if len(mesh.faces) == 0:
                raise ValueError("it has no faces")
            payload, shown = viewer_json(mesh, MAX_MESH_FACES)
        except Exception as e:  # trimesh raises many types on unreadable files; the page says so instead
            return f'<p class="muted">cannot read mesh {esc(path.name)}: {esc(type(e).__name__)}: {esc(e)}</p>'
        ident = f"mesh-{index}-{len(self.scripts)}"
        self.scripts.append(f'<script type="application/json" id="{ident}">{payload}</script>')
        note = f"{len(mesh.vertices):,} vertices, {len(mesh.faces):,} faces"
        if shown < len(mesh.faces):
            note += f", shown decimated to {shown:,} faces"
        return (f'<canvas class="mesh-view" data-mesh="{ident}" title="drag to rotate, wheel to zoom, double-click '
                f'to reset"></canvas><div class="muted" style="font-size:12.5px">{esc(note)} · drag to rotate, '
                f'wheel to zoom</div>')


def _png_width(path: Path) -> int | None:
    """Width in pixels of a PNG file (from its header), None for other files."""
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big") if head.startswith(b"\x89PNG\r\n\x1a\n") else None
