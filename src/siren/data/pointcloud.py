"""Point clouds with normals for SDF fitting: files -> points normalized into the model's domain [-1, 1]^3.

Formats: .xyz/.txt ("x y z" or "x y z nx ny nz" per line, '#' comments), .npy (an (N, 3) or (N, 6) array of
x y z [nx ny nz]), and .ply/.obj/.off/.stl through trimesh: a mesh is sampled uniformly by area (with its face
normals), a PLY without faces gives its vertices (and their nx/ny/nz normals if present). Missing normals are
estimated (`estimate_normals`, in blocks of points: memory grows with the points, not with their neighbours).
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
ARRAY_SUFFIXES = (".npy",)
SUFFIXES = TEXT_SUFFIXES + ARRAY_SUFFIXES + MESH_SUFFIXES
CHUNK = 65_536  # points per block in estimate_normals: neighbour queries, covariances, eigen-solves
ORIENT_POINTS = 2 ** 19  # estimate_normals orients at most this many points with a spanning tree
VOTES = 8  # beyond ORIENT_POINTS: each point's sign agrees with (the sum over) its VOTES nearest oriented points
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
    if suffix not in SUFFIXES:
        raise SirenError(f"{path.name}: unknown point cloud format {suffix or '(no suffix)'!r} "
                         f"(use one of {', '.join(SUFFIXES)})")
    if not path.is_file():
        raise SirenError(f"point cloud not found: {path} (check the path)")
    if suffix in TEXT_SUFFIXES:
        points, normals = _read_xyz(path)
    elif suffix in ARRAY_SUFFIXES:
        points, normals = _read_npy(path)
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


def estimate_normals(points: np.ndarray, k: int = 16, chunk: int = CHUNK,
                     orient_points: int = ORIENT_POINTS) -> np.ndarray:
    """(N, 3) points -> (N, 3) float32 unit normals, oriented outward where the shape is closed.

    Direction: PCA of the k nearest neighbours (the point included), the covariance eigenvector of the smallest
    eigenvalue; `chunk` points at a time, in k-d tree leaf order (neighbouring queries).
    Orientation (Hoppe et al. 1992): a minimum spanning tree of the k-neighbour graph with edge weights
    1 - |n_i . n_j| (neighbours with parallel planes are joined first), rooted in each connected component at its
    point of largest x, whose normal must point +x (outward); n_j is flipped when n_i . n_j < 0 for its parent i.
    The signs, products along each path to the root, come from pointer jumping (O(log depth) vectorised passes).
    The tree spans all points up to `orient_points` of them. A larger cloud builds it on an evenly spread subset S
    (every ceil(N / orient_points)-th point in leaf order, k neighbours within S), then each point p takes the sign
    of sum_s n_p . n_s over its min(VOTES, k) nearest points s in S (a vote: it also smooths noisy normals).
    Memory: the points, the normals, the k-d tree, O(chunk k) per block and a spanning tree of at most
    orient_points points; no (N, k, 3) or (N, 3, 3) arrays. Limit: parts thinner than the neighbour spacing (of S,
    for a large cloud) can be mis-oriented.
    """
    from scipy.spatial import cKDTree

    points = np.ascontiguousarray(points, dtype=np.float64)
    n, k, chunk = len(points), min(k, len(points) - 1), max(1, int(chunk))
    tree = cKDTree(points, balanced_tree=False)  # sliding midpoint: builds faster, queries alike
    leaves = tree.indices  # a permutation of the points: k-d tree leaf after leaf
    step = -(-n // max(2, int(orient_points)))
    whole = step == 1
    normals = np.empty((n, 3), np.float32)
    graph = np.empty((n, k), np.int32) if whole else None  # the orientation graph: neighbours, no self
    for start in range(0, n, chunk):
        block = leaves[start:start + chunk]
        _, nbr = tree.query(points[block], k + 1, workers=-1)  # (B, k+1), column 0 is the point itself
        local = points[nbr]
        local -= local.mean(axis=1, keepdims=True)
        _, vecs = np.linalg.eigh(local.transpose(0, 2, 1) @ local)
        normals[block] = vecs[:, :, 0]  # eigenvalues ascending: the plane's normal
        if whole:
            graph[block] = nbr[:, 1:]
    if whole:
        normals *= _tree_signs(points[:, 0], normals, graph, chunk)[:, None]
        return normals
    keep = leaves[::step]  # the orientation subset, spread like the leaves
    subset = points[keep]
    subset_tree = cKDTree(subset, balanced_tree=False)
    kk = min(k, len(keep) - 1)
    graph = np.empty((len(keep), kk), np.int32)
    for start in range(0, len(keep), chunk):
        block = subset_tree.indices[start:start + chunk]
        graph[block] = subset_tree.query(subset[block], kk + 1, workers=-1)[1][:, 1:]
    oriented = normals[keep] * _tree_signs(subset[:, 0], normals[keep], graph, chunk)[:, None]
    del graph, subset
    votes = min(VOTES, kk)
    for start in range(0, n, chunk):
        block = leaves[start:start + chunk]
        near = subset_tree.query(points[block], votes, workers=-1)[1].reshape(len(block), votes)
        agree = np.einsum("ij,ikj->i", normals[block], oriented[near])  # sum of n . n_s over the nearest votes
        normals[block] *= np.where(agree < 0, np.float32(-1), np.float32(1))[:, None]
    return normals


def _tree_signs(x: np.ndarray, normals: np.ndarray, nbr: np.ndarray, chunk: int) -> np.ndarray:
    """x (M,), unit normals (M, 3), neighbours (M, k) -> (M,) float32 signs +-1 that orient the normals (see
    estimate_normals): minimum spanning tree, one seed per component, signs propagated by pointer jumping."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

    m, k = nbr.shape
    weight = np.empty((m, k), np.float64)
    for start in range(0, m, chunk):
        rows = slice(start, start + chunk)
        dots = np.einsum("nj,nkj->nk", normals[rows], normals[nbr[rows]], dtype=np.float64)
        weight[rows] = 1.0 - np.abs(dots) + 1e-9  # 0 would drop the edge
    # directed k-neighbour edges: the spanning tree reads them as undirected (the weights are symmetric)
    graph = csr_matrix((weight.ravel(), nbr.ravel(), np.arange(0, m * k + 1, k)), shape=(m, m))
    del weight
    tree = minimum_spanning_tree(graph, overwrite=True).tocoo()
    del graph
    n_comp, label = connected_components(tree, directed=False)
    by_x = np.lexsort((-np.arange(m), x, label))  # per component ascending x, ties: the first point last
    seeds = by_x[np.r_[np.flatnonzero(np.diff(label[by_x])), m - 1]]  # largest x of each component
    # a virtual root m joins the seeds: one breadth-first search roots every component at its seed
    rooted = csr_matrix((np.ones(len(tree.row) + n_comp, np.int8),
                         (np.r_[tree.row, np.full(n_comp, m)], np.r_[tree.col, seeds])), shape=(m + 1, m + 1))
    del tree
    _, parent = breadth_first_order(rooted, m, directed=False, return_predecessors=True)
    del rooted
    parent[m] = m
    up = np.minimum(parent[:m], m - 1)  # seeds (parent m) are overwritten next
    sign = np.ones(m + 1, np.int8)
    for start in range(0, m, chunk):
        rows = slice(start, min(start + chunk, m))
        sign[rows] = np.where(np.einsum("ij,ij->i", normals[rows], normals[up[rows]]) < 0, -1, 1)
    sign[seeds] = np.where(normals[seeds, 0] >= 0, 1, -1)  # relative to the root: outward is +x
    del up
    # pointer jumping: sign[i] * sign of parent[i] = the sign of i; parents jump to grandparents until the root
    while (parent != m).any():
        sign *= sign[parent]
        parent = parent[parent]
    return sign[:m].astype(np.float32)


def demo_bunny() -> Path:
    """Path of the Stanford bunny range scan (StanfordBunny.ply) in the pymeshfix wheel (the `shapes` extra)."""
    spec = importlib.util.find_spec("pymeshfix")
    path = Path(spec.origin).parent / "examples" / "StanfordBunny.ply" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise SirenError("the bunny demo needs pymeshfix: install the shapes extra: pip install -e '.[shapes]'")
    return path


def _read_xyz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """'x y z [nx ny nz]' per line (whitespace or commas; blank and '#' lines skipped) -> points, normals.
    np.loadtxt parses the lines in C; whatever it rejects, a width other than 3 or 6, and NaN or infinity are read
    again line by line (`_read_xyz_lines`), for the error naming the line (or the values, where it accepts them)."""
    try:
        with open(path, errors="replace") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": the line parser decides
            data = np.loadtxt((line.replace(",", " ") for line in f), dtype=np.float64, comments="#", ndmin=2)
    except (ValueError, UnicodeError):
        return _read_xyz_lines(path)
    if len(data) == 0 or data.shape[1] not in (3, 6) or not np.isfinite(data).all():
        return _read_xyz_lines(path)
    return data[:, :3], (data[:, 3:] if data.shape[1] == 6 else None)


def _read_xyz_lines(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """_read_xyz one line at a time: the reference parser, and the one whose errors name the line."""
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


def _read_npy(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """An (N, 3) or (N, 6) float (or integer) array of x y z [nx ny nz] rows, memory-mapped -> points, normals."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:  # not an .npy file, truncated, pickled objects
        reason = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
        raise SirenError(f"cannot read {path.name} as a .npy array ({reason}); check the file") from None
    if not isinstance(array, np.ndarray):  # an .npz archive under an .npy name
        array.close()
        raise SirenError(f"{path.name} holds no array, expected an (N, 3) or (N, 6) float array of x y z [nx ny nz]")
    if array.dtype.kind not in "fiu" or array.ndim != 2 or array.shape[1] not in (3, 6):
        what = f"a {array.dtype} array of shape {array.shape}"
        raise SirenError(f"{path.name} holds {what}, expected an (N, 3) or (N, 6) float array of x y z [nx ny nz]")
    points = np.array(array[:, :3], dtype=np.float64)
    normals = np.array(array[:, 3:], dtype=np.float64) if array.shape[1] == 6 else None
    return points, normals


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
