"""Meshes out of the process: mesh files (.ply, .obj, .glb) and the compact JSON of the report's mesh viewer."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from ..errors import SirenError
from .post import decimate

MESH_SUFFIXES = (".ply", ".obj", ".glb")


def save_mesh(mesh: trimesh.Trimesh, path: str | Path) -> Path:
    """Write mesh as .ply, .obj or .glb (by suffix, trimesh's exporters); parent folders are created."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise SirenError(f"{path.name}: unknown mesh format {path.suffix or '(no suffix)'!r} "
                         f"(use one of {', '.join(MESH_SUFFIXES)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)
    return path


def viewer_json(mesh: trimesh.Trimesh, max_faces: int) -> tuple[str, int]:
    """mesh (with faces) -> (JSON {"vertices": [x0, y0, z0, x1, ...], "faces": [a0, b0, c0, ...], "closed": bool},
    the number of faces in it): decimated to at most max_faces faces (`decimate`), vertices centred on the bounding
    box and scaled into the unit sphere, rounded to 1e-4; closed when watertight with consistent winding (the
    viewer may then cull back faces)."""
    closed = bool(mesh.is_watertight and mesh.is_winding_consistent)
    vertices, faces = decimate(np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64), max_faces)
    centre = (vertices.min(0) + vertices.max(0)) / 2
    radius = float(np.linalg.norm(vertices - centre, axis=1).max()) or 1.0
    unit = np.round((vertices - centre) / radius, 4)
    payload = json.dumps({"vertices": unit.ravel().tolist(), "faces": faces.ravel().tolist(),
                          "closed": closed}, separators=(",", ":"))
    return payload, len(faces)
