"""Triangle meshes of an implicit function's level set (an SDF model): extraction, post-processing, files.

    extract  extract_mesh: coarse-to-fine (or dense) marching cubes with bounded memory and a memory budget for the
             mesh itself (MeshTooLarge names the resolution that fits), model units; estimate_mesh: the faces
             predicted from coarse grids; require_resolution: a resolution whose fixed costs fit in memory
    grid     Grid: fn evaluated on grid points in chunks, checked and counted
    post     keep_supported, to_units, warn_if_open, decimate (the one decimator: vertex clustering)
    io       save_mesh (.ply, .obj, .glb), viewer_json (the report's mesh viewer)

The pictures (render_mesh_png, sdf_slice_png) live with the figures in `siren.viz.mesh`; they are importable from
here too, loaded on first use (siren.viz.mesh imports this package).
"""
from __future__ import annotations

from .extract import (BYTES_PER_FACE, METHODS, MeshEstimate, MeshTooLarge, estimate_mesh, extract_mesh,
                      require_resolution)
from .io import MESH_SUFFIXES, save_mesh, viewer_json
from .post import decimate, keep_supported, to_units, warn_if_open

__all__ = ["BYTES_PER_FACE", "METHODS", "MESH_SUFFIXES", "MeshEstimate", "MeshTooLarge", "decimate", "estimate_mesh",
           "extract_mesh", "keep_supported", "render_mesh_png", "require_resolution", "save_mesh", "sdf_slice_png",
           "to_units", "viewer_json", "warn_if_open"]
PICTURES = ("render_mesh_png", "sdf_slice_png")


def __getattr__(name: str):
    if name in PICTURES:
        from ..viz import mesh
        return getattr(mesh, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
