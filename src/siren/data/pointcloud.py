"""Point clouds with normals for SDF fitting: files -> points normalized into the model's domain [-1, 1]^3.

Formats: .xyz/.txt ("x y z" or "x y z nx ny nz" per line, '#' comments), and .ply/.obj/.off/.stl through trimesh:
a mesh is sampled uniformly by area (with its face normals), a PLY without faces gives its vertices (and their
nx/ny/nz normals if present). Missing normals are estimated (`estimate_normals`).
"""
from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SirenError

MESH_SUFFIXES = (".ply", ".obj", ".off", ".stl")
TEXT_SUFFIXES = (".xyz", ".txt")
EXTENT = 0.9  # max |coordinate| after normalization: a margin inside [-1, 1]^3


@dataclass
class PointCloud:
    """points (N, 3) float32 in model units, normalized = (input - center) / scale with max |coord| = 0.9;
    normals (N, 3) float32 unit vectors (outward) or None; center (3,) and scale in input units."""
    points: np.ndarray
    normals: np.ndarray | None
    center: np.ndarray
    scale: float

    def to_input_units(self, points: np.ndarray) -> np.ndarray:
        """Model units -> the file's units: p * scale + center."""
        return np.asarray(points, dtype=np.float64) * self.scale + self.center

    def to_model_units(self, points: np.ndarray) -> np.ndarray:
        """The file's units -> model units: (p - center) / scale."""
        return (np.asarray(points, dtype=np.float64) - self.center) / self.scale


def load_points(path: str | Path, samples: int = 100_000, seed: int = 0, estimate: bool = True,
                k: int = 16) -> PointCloud:
    """Read a point cloud or mesh file -> normalized PointCloud. A mesh gives `samples` surface points (seeded);
    without normals in the file they are estimated from k neighbours (with a warning) unless estimate=False."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + MESH_SUFFIXES:
        raise SirenError(f"{path.name}: unknown point cloud format {suffix or '(no suffix)'!r} "
                         f"(use one of {', '.join(TEXT_SUFFIXES + MESH_SUFFIXES)})")
    if not path.is_file():
        raise SirenError(f"point cloud not found: {path} (check the path)")
    if suffix in TEXT_SUFFIXES:
        points, normals = _read_xyz(path)
    else:
        points, normals = _read_mesh(path, samples, seed)
    return point_cloud(points, normals, name=path.name, estimate=estimate, k=k)


def point_cloud(points, normals=None, name: str = "point cloud", estimate: bool = True,
                k: int = 16) -> PointCloud:
    """Validate (N, 3) points and optional (N, 3) normals, normalize into [-0.9, 0.9]^3 (bounding-box center,
    one scale for all axes) and estimate missing normals (unless estimate=False)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise SirenError(f"{name}: points have shape {points.shape}, expected (N, 3)")
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise SirenError(f"{name}: {bad.sum()} points have NaN or infinite coordinates (first: point "
                         f"{np.argmax(bad)}); remove them")
    if len(points) < 10:
        raise SirenError(f"{name}: {len(points)} points, need at least 10 (use a denser point cloud)")
    lo, hi = points.min(axis=0), points.max(axis=0)
    half = float((hi - lo).max()) / 2
    if half == 0.0:
        raise SirenError(f"{name}: all {len(points)} points are identical (zero extent); check the file")
    center, scale = (lo + hi) / 2, half / EXTENT
    unit = ((points - center) / scale).astype(np.float32)
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float64)
        length = np.linalg.norm(normals, axis=1)
        bad = ~(np.isfinite(length) & (length > 1e-12))
        if bad.any():
            raise SirenError(f"{name}: {bad.sum()} normals have zero length or are not finite (first: point "
                             f"{np.argmax(bad)}); fix them or drop the normals to have them estimated")
        normals = (normals / length[:, None]).astype(np.float32)
    elif estimate:
        warnings.warn(f"{name}: no normals, estimated them from {k} nearest neighbours (PCA + propagated "
                      f"orientation)", stacklevel=2)
        normals = estimate_normals(unit, k=k)
    return PointCloud(unit, normals, center, scale)


def estimate_normals(points: np.ndarray, k: int = 16) -> np.ndarray:
    """(N, 3) points -> (N, 3) float32 unit normals, oriented outward where the shape is closed.

    Direction: PCA of the k nearest neighbours, the covariance eigenvector of the smallest eigenvalue.
    Orientation (Hoppe et al. 1992): a minimum spanning tree of the k-neighbour graph with edge weights
    1 - |n_i . n_j| (neighbours with parallel planes are joined first) is walked breadth first from a seed whose
    sign is known, flipping n_j when n_i . n_j < 0. Seed: in each connected component the point with the largest
    x, whose normal must point +x (outward). Thin parts closer than the neighbour spacing can be mis-oriented.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=np.float64)
    k = min(k, len(points) - 1)
    _, nbr = cKDTree(points).query(points, k=k + 1)  # (N, k+1), column 0 is the point itself
    local = points[nbr] - points[nbr].mean(axis=1, keepdims=True)
    _, vecs = np.linalg.eigh(np.einsum("nki,nkj->nij", local, local))
    normals = vecs[:, :, 0]  # eigenvalues ascending: the plane's normal

    rows, cols = np.repeat(np.arange(len(points)), k), nbr[:, 1:].ravel()
    weight = 1.0 - np.abs(np.einsum("ij,ij->i", normals[rows], normals[cols])) + 1e-9  # 0 would drop the edge
    graph = coo_matrix((weight, (rows, cols)), shape=(len(points),) * 2).tocsr()
    tree = minimum_spanning_tree(graph.maximum(graph.T))
    n_comp, label = connected_components(tree, directed=False)
    sign = np.ones(len(points))
    for c in range(n_comp):
        members = np.flatnonzero(label == c)
        seed = members[np.argmax(points[members, 0])]
        order, parent = breadth_first_order(tree, seed, directed=False)
        agree = np.sign(np.einsum("ij,ij->i", normals[order[1:]], normals[parent[order[1:]]]))
        sign[seed] = 1.0 if normals[seed, 0] >= 0 else -1.0
        for child, parent_of, s in zip(order[1:].tolist(), parent[order[1:]].tolist(), agree.tolist()):
            sign[child] = sign[parent_of] * (s or 1.0)
    return (normals * sign[:, None]).astype(np.float32)


def demo_bunny() -> Path:
    """Path of the Stanford bunny range scan (StanfordBunny.ply) in the pymeshfix wheel (the `shapes` extra)."""
    spec = importlib.util.find_spec("pymeshfix")
    path = Path(spec.origin).parent / "examples" / "StanfordBunny.ply" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise SirenError("the bunny demo needs pymeshfix: install the shapes extra: pip install -e '.[shapes]'")
    return path


def _read_xyz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """'x y z [nx ny nz]' per line (whitespace or commas; blank and '#' lines skipped) -> points, normals."""
    rows, lines, width = [], [], None
    with open(path, errors="replace") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split("#", 1)[0].replace(",", " ").split()
            if not fields:
                continue
            try:
                values = [float(v) for v in fields]
            except ValueError:
                values = None
            if values is None or len(values) not in (3, 6):
                raise SirenError(f"{path.name} line {number}: expected 3 or 6 numbers, got {line.strip()[:60]!r}")
            if width is None:
                width = len(values)
            elif len(values) != width:
                raise SirenError(f"{path.name} line {number}: expected {width} numbers like line {lines[0]}, "
                                 f"got {len(values)}: {line.strip()[:60]!r}")
            rows.append(values)
            lines.append(number)
    data = np.asarray(rows, dtype=np.float64).reshape(-1, width or 3)
    bad = ~np.isfinite(data).all(axis=1)
    if bad.any():
        raise SirenError(f"{path.name} line {lines[np.argmax(bad)]}: NaN or infinite value "
                         f"({bad.sum()} such lines); remove them")
    return data[:, :3], (data[:, 3:] if width == 6 else None)


def _read_mesh(path: Path, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A mesh file -> `samples` area-uniform surface points and their face normals; a point cloud (no faces)
    -> its vertices and, for PLY, its nx/ny/nz vertex properties."""
    import trimesh
    try:
        geometry = trimesh.load(path)
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
        raise SirenError(f"cannot read {path.name} as a {path.suffix.lower()} mesh or point cloud ({reason}); "
                         f"check the file") from None
    if isinstance(geometry, trimesh.Scene):
        if not geometry.geometry:
            raise SirenError(f"{path.name} holds no mesh or points (empty or not a {path.suffix.lower()} file)")
        geometry = geometry.to_geometry()
    if isinstance(geometry, trimesh.Trimesh) and len(geometry.faces) and geometry.area > 0:
        points, face = trimesh.sample.sample_surface(geometry, samples, seed=seed)
        return points, geometry.face_normals[face]
    if not hasattr(geometry, "vertices") or len(geometry.vertices) == 0:
        raise SirenError(f"{path.name} holds no mesh or points; check the file")
    raw = geometry.metadata.get("_ply_raw", {}).get("vertex", {}).get("data", {})  # a dict or a structured array
    if all(c in (raw.dtype.names or () if isinstance(raw, np.ndarray) else raw) for c in ("nx", "ny", "nz")):
        normals = np.hstack([np.asarray(raw[c], dtype=np.float64).reshape(-1, 1) for c in ("nx", "ny", "nz")])
        if len(normals) == len(geometry.vertices):
            return np.asarray(geometry.vertices), normals
    return np.asarray(geometry.vertices), None
