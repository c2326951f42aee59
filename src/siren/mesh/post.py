"""After extraction: drop the pieces of a mesh far from the data, map it to input units, warn when it is open, and
decimate it (fewer faces for a picture or a viewer)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import trimesh

from ..errors import SirenError


def warn_if_open(mesh: trimesh.Trimesh, stacklevel: int = 2) -> None:
    """Warn (UserWarning) when mesh is not watertight, saying why a level set comes out open."""
    if not mesh.is_watertight:
        warnings.warn(f"mesh is not watertight ({len(mesh.faces)} faces): the surface leaves the bounds or has "
                      f"features finer than the grid; raise the resolution or check the bounds", stacklevel=stacklevel)


def keep_supported(mesh: trimesh.Trimesh, points, tolerance: float) -> tuple[trimesh.Trimesh, int, float]:
    """Drop the connected pieces of mesh (faces joined by shared vertices) that have no vertex within `tolerance` of
    any of `points` ((N, 3) or a `siren.neighbours.PointIndex` of them), same units -> (kept mesh, pieces dropped,
    fraction of the area dropped).

    A learned SDF is only constrained near its data; far from it the field may cross zero (bubbles inside a shape,
    pockets in the box's corners), and those pieces are surface the data never asked for. Raises SirenError when no
    piece comes within tolerance (the mesh is nowhere near the points). Memory: a few integers per face (a sparse
    vertex graph), not trimesh's cached adjacency."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from ..neighbours import PointIndex
    verts, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    edges = (faces[:, :2].ravel(), faces[:, 1:].ravel())
    count, labels = connected_components(coo_matrix((np.ones(len(edges[0]), np.int8), edges),
                                                    shape=(len(verts),) * 2), directed=False)
    index = points if isinstance(points, PointIndex) else PointIndex(points)
    near = np.isfinite(index.query(verts, upper_bound=tolerance)[0])
    supported = np.zeros(count, bool)
    supported[labels[near]] = True
    piece = labels[faces[:, 0]]                                      # per face
    keep = supported[piece]
    if not keep.any():
        raise SirenError(f"no piece of the mesh comes within {tolerance:.4g} of an input point "
                         f"({len(np.unique(piece))} pieces): the surface is not the data's (train longer or check "
                         f"the input)")
    if keep.all():
        return mesh, 0, 0.0
    kept = trimesh.Trimesh(verts, faces[keep], process=False)
    kept.remove_unreferenced_vertices()
    dropped_area = _area(verts, faces[~keep])
    return kept, len(np.unique(piece[~keep])), dropped_area / (dropped_area + _area(verts, faces[keep]))


def _area(verts: np.ndarray, faces: np.ndarray, chunk: int = 1 << 20) -> float:
    """Total area of the triangles verts[faces], a chunk of faces at a time."""
    total = 0.0
    for f in np.array_split(faces, max(1, -(-len(faces) // chunk))):
        a, b, c = verts[f[:, 0]], verts[f[:, 1]], verts[f[:, 2]]
        total += float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()) / 2
    return total


def to_units(mesh: trimesh.Trimesh, center, scale: float) -> trimesh.Trimesh:
    """A copy of mesh with vertices mapped from model units to input units: v * scale + center (a PointCloud's)."""
    out = mesh.copy()
    out.vertices = np.asarray(mesh.vertices) * scale + np.asarray(center, dtype=np.float64)
    return out


def decimate(verts: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """At most max_faces faces of about the same surface, by vertex clustering: verts (V, 3) float, faces (F, 3)
    int -> (verts (V', 3) float64, faces (F', 3) int64).

    The bounding box's cube (side `extent`, its longest side) is cut into c^3 cells; the vertices in one cell merge
    into their mean, faces whose corners fall in fewer than three cells are dropped, and of the faces on the same
    three cells the first is kept (its winding; faces stay in input order). c starts where the mean edge length
    predicts about max_faces faces and shrinks (by the square root of wanted / measured faces, at least by one)
    until at most max_faces remain. Needs nothing beyond numpy; keeps the outline without holes (unlike keeping a
    subset of faces), though features thinner than a cell collapse.
    Guarantees: F' <= max_faces (c = 1 leaves no face); every output vertex is used by a face; an input vertex is
    within one cell diagonal, sqrt(3) extent / c, of the vertex it merged into. F <= max_faces: the input is
    returned unchanged (the same arrays)."""
    if len(faces) <= max_faces:
        return verts, faces
    verts, faces = np.asarray(verts, np.float64), np.asarray(faces, np.int64)
    lo = verts.min(0)
    extent = float((verts.max(0) - lo).max()) or 1.0
    edge = float(np.linalg.norm(verts[faces[:, 1]] - verts[faces[:, 0]], axis=1).mean()) or extent
    cells = min(1 << 20, int(extent / edge * math.sqrt(max_faces / len(faces))) + 1)  # (cell keys fit in int64)
    while True:
        index = np.minimum(((verts - lo) / extent * cells).astype(np.int64), cells - 1)
        _, cluster = np.unique((index[:, 0] * cells + index[:, 1]) * cells + index[:, 2], return_inverse=True)
        cluster = cluster.reshape(-1)
        f = cluster[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        if len(first) <= max_faces:
            break
        cells = max(1, min(cells - 1, int(cells * math.sqrt(max_faces / len(first)) * 0.95)))
    count = np.bincount(cluster)
    merged = np.stack([np.bincount(cluster, verts[:, a]) / count for a in range(3)], axis=1)
    used, f = np.unique(f[np.sort(first)], return_inverse=True)
    return merged[used], f.reshape(-1, 3)
