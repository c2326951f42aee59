"""Triangle meshes of a level set of an implicit function (an SDF model) by marching cubes, with bounded memory.

The function `fn` takes a float32 torch tensor (M, 3) of points in model units (on `device`) and returns (M,) or
(M, 1) values (`siren.mesh.grid.Grid` calls it). The grid has `resolution` points per axis on linspace(lo, hi)
(endpoints included), spacing h = (hi - lo) / (resolution - 1); vertices come out in the same (model) units, faces
wound so that normals point to increasing f (outward for an SDF).

Methods (both give the same mesh: the same marching cubes on the same values in every cell the surface crosses;
bit for bit when fn's value at a point does not depend on the batch, else up to float round-off, for resolution
up to 4096):
  dense           every grid point is evaluated; marching cubes runs on slabs of a few x-slices that share their
                  boundary slice, stitched by merging equal vertices. Memory: one slab (about 4M float32 values
                  plus marching-cubes temporaries) and the output mesh, never resolution^3.
  coarse_to_fine  cells are refined from blocks of `block` cells per side down to single cells, pruning a cell of
                  side s (grid steps) when all its corner values lie on one side of the level by more than
                  lipschitz * margin * (sqrt(3) / 2) * s * h: every point of a cube is within (sqrt(3) / 2) s h of a
                  corner, so if |grad f| <= lipschitz the level set cannot enter the cell (margin >= 1 is the safety
                  factor for a learned SDF whose |grad f| only approximates 1). The grid is cut into tiles of
                  whole blocks (one block thick in x, all of z, as much of y as TILE_POINTS points allow) that are
                  refined level by level: the new corners of a tile's surviving cells are evaluated in one batch
                  per level (`chunk` points per call of fn), each point once (the points evaluated in an x-slab of
                  blocks are kept until the next slab is done: a later tile reuses those on a face it shares),
                  and every other point carries the value of a corner of the pruned cell it lies in (the sign is
                  what matters); marching cubes then runs per tile. Memory: one tile (TILE_POINTS float32 values
                  and a few masks), the coarse grid of block corners, the points evaluated in one x-slab of blocks
                  (int64 index and float32 value each), the network's activations on `chunk` points, the mesh.
Stitching and the watertight check take memory in proportion to the mesh (part of BYTES_PER_FACE).

Memory budget: the mesh's own memory is not bounded by the method (a field that crosses the level almost
everywhere, such as an untrained network, has several faces in nearly every cell), so before extracting,
`estimate_mesh` predicts the faces from coarse grids (`MeshEstimate`), and `extract_mesh` refuses (`MeshTooLarge`,
naming the resolution that fits) a mesh whose prediction times BYTES_PER_FACE exceeds `memory`; while extracting it
also stops as soon as the faces built so far exceed it (a field with detail finer than the coarse grids).
"""
from __future__ import annotations

import math

import numpy as np
import trimesh

from ..errors import SirenError
from ..runtime import require_memory
from .grid import Grid
from .post import warn_if_open

METHODS = ("coarse_to_fine", "dense")
SLAB_POINTS = 1 << 22  # points per dense slab: 16 MiB of float32
TILE_POINTS = 1 << 24  # grid points per coarse_to_fine tile, as far as whole blocks allow: 64 MiB of float32
SNAP = 2.0 ** -12  # grid steps: a vertex this close to a grid point is put on it
BYTES_PER_SQUARE = 700  # about, times resolution^2: the mesh of a closed surface across the box (1.6 faces per
                        # square, ~400 bytes a face while stitched and checked) and an x-slab's values and indices


MEMORY = 1 << 30  # bytes: the default budget of a mesh (extraction, and what callers do with it after)
BYTES_PER_FACE = 700  # about: a face through stitching, the watertight check, dropping pieces, scoring and the
                      # picture (`siren sdf`'s outputs; docs/shapes.md)
PILOT_CELLS = 32  # cells per axis of the finest grid `estimate_mesh` evaluates (33^3 points)


class MeshTooLarge(SirenError):
    """A mesh over its memory budget; `fits`: the largest resolution (points per axis) predicted to fit, or None
    when none of at least 3 does."""

    def __init__(self, message: str, fits: int | None):
        super().__init__(message, field="resolution")
        self.fits = fits


class MeshEstimate:
    """The faces of a level set's mesh predicted from coarse grids (`estimate_mesh`).

    levels: [(cells per axis, cells the level crosses)] from coarse to fine; top_faces: the faces marching cubes
    makes on the finest of them; exponent d: how the crossing cells grow with the cells per axis c between the two
    finest levels (N ~ c^d), clipped to [2, 3] (2: a surface, 3: a field that crosses the level everywhere).
    faces(resolution) = top_faces x (cells / finest cells)^d, with (resolution - 1) cells per axis."""

    def __init__(self, levels: list[tuple[int, int]], faces: int):
        self.levels, self.top_faces = levels, faces
        (c0, n0), (c1, n1) = levels[-2], levels[-1]
        self.exponent = 3.0 if n0 == 0 or n1 == 0 else float(np.clip(math.log(n1 / n0) / math.log(c1 / c0), 2, 3))

    def faces(self, resolution: int) -> float:
        """Predicted faces at `resolution` points per axis."""
        return self.top_faces * ((resolution - 1) / self.levels[-1][0]) ** self.exponent

    def bytes(self, resolution: int) -> float:
        """Predicted memory of the mesh at `resolution` (BYTES_PER_FACE a face)."""
        return BYTES_PER_FACE * self.faces(resolution)

    def fits(self, memory: float, resolution: int) -> int | None:
        """The largest resolution up to `resolution` whose predicted mesh takes at most `memory` bytes (None:
        not even 3 points per axis)."""
        if self.bytes(resolution) <= memory:
            return resolution
        cells = int(self.levels[-1][0] * (memory / (BYTES_PER_FACE * self.top_faces)) ** (1 / self.exponent))
        return cells + 1 if cells >= 2 and self.bytes(cells + 1) <= memory else None


def estimate_mesh(fn, resolution: int, bounds: tuple[float, float] = (-1.0, 1.0), level: float = 0.0,
                  chunk: int = 32768, device=None) -> MeshEstimate:
    """Predict the faces of the `level` set's mesh at `resolution` points per axis (see `MeshEstimate`): fn is
    evaluated on two coarse grids over bounds^3 with c and about c / 2 cells per axis (c = the largest
    ceil((resolution - 1) / 2^k) up to PILOT_CELLS: at most 33^3 points; the grid itself when resolution <= 33),
    the cells the level crosses are counted at each level and marching cubes runs on the finer one. A field with
    detail finer than the coarse grids is underestimated (`extract_mesh` also checks while it builds)."""
    cells = resolution - 1
    while cells > PILOT_CELLS:
        cells = -(-cells // 2)
    levels = []
    for c in (max(1, cells // 2), cells):
        e = np.arange(c + 1)
        values = Grid(fn, c + 1, bounds, chunk, device).box(e, e, e)
        levels.append((c, int(_prune(values - level, 0.0).sum())))
    part = _march(values, level, (0, 0, 0))
    return MeshEstimate(levels, 0 if part is None else len(part[1]))


def require_resolution(resolution: int, field: str = "resolution") -> None:
    """Refuse (SirenError naming `field`, before anything is evaluated) a resolution whose mesh would not fit in
    memory: about BYTES_PER_SQUARE * resolution^2 bytes (`siren.runtime.require_memory`)."""
    require_memory(lambda r: BYTES_PER_SQUARE * r * r, resolution, f"a mesh at {resolution} points per axis", field,
                   least=3)


def extract_mesh(fn, resolution: int = 256, bounds: tuple[float, float] = (-1.0, 1.0), level: float = 0.0,
                 chunk: int = 32768, method: str = "coarse_to_fine", lipschitz: float = 1.0, margin: float = 2.0,
                 block: int = 32, device=None, check_watertight: bool = True,
                 memory: float | None = MEMORY) -> trimesh.Trimesh:
    """The `level` set of fn on a resolution^3 grid over bounds^3 -> trimesh.Trimesh (model units).

    coarse_to_fine assumes |grad f| <= lipschitz (times the safety factor `margin`); `block` (a power of two) is the
    coarsest cell side in grid steps. chunk: points per call of fn; a network's activations take memory in
    proportion (docs/shapes.md); fewer calls matter most when other processes share the CPU. device: where points
    are sent (default: the device of fn's parameters when fn is a torch module, else CPU).
    mesh.metadata["evaluations"] counts the points fn was evaluated at (`estimate_mesh`'s not included).
    memory: the budget in bytes of the mesh (BYTES_PER_FACE a face; None: no budget and no estimate): raises
    `MeshTooLarge` (a SirenError naming the resolution that fits) before extracting when `estimate_mesh` predicts
    more, or as soon as the faces built exceed it. Raises SirenError when the level set does not cross the grid;
    warns when the mesh is not watertight (unless check_watertight is False: callers that drop pieces first check
    what they keep)."""
    if method not in METHODS:
        raise SirenError(f"unknown meshing method {method!r} (use one of {', '.join(METHODS)})")
    if resolution < 3 or bounds[1] <= bounds[0]:
        raise SirenError(f"need resolution >= 3 and bounds lo < hi, got {resolution} and {bounds}")
    require_resolution(resolution)
    if block < 2 or block & (block - 1):
        raise SirenError(f"block must be a power of two >= 2, got {block}")
    budget = None
    if memory is not None:
        estimate = estimate_mesh(fn, resolution, bounds, level, chunk, device)
        if estimate.bytes(resolution) > memory:
            raise _too_large(resolution, memory, estimate.faces(resolution), estimate.fits(memory, resolution))
        budget = _Budget(resolution, memory, estimate.exponent)
    grid = Grid(fn, resolution, bounds, chunk, device)
    if method == "dense":
        parts = _dense(grid, level, budget)
    else:
        parts = _coarse_to_fine(grid, level, lambda s: lipschitz * margin * math.sqrt(3) / 2 * s * grid.h, block,
                                budget)
    mesh = _stitch(parts, grid)
    if len(mesh.faces) == 0:
        raise SirenError(f"no surface: the SDF ranges over [{grid.vmin:.4g}, {grid.vmax:.4g}] on the grid, level "
                         f"{level:g} is outside it (train longer or check the input)")
    mesh.metadata["evaluations"] = grid.evaluations
    if check_watertight:
        warn_if_open(mesh, stacklevel=3)
    return mesh


def _too_large(resolution: int, memory: float, faces: float, fits: int | None) -> MeshTooLarge:
    """The error of a mesh over its budget: what it needs, and the resolution that fits."""
    fix = (f"pass --resolution {fits} or a larger --mesh-memory" if fits else
           "the field crosses the level almost everywhere: train it longer, or pass a larger --mesh-memory")
    need = BYTES_PER_FACE * faces / 2 ** 30
    return MeshTooLarge(f"{resolution} would make a mesh of about {faces:.3g} faces ({need:.3g} GiB), over the mesh "
                        f"memory budget of {memory / 2 ** 30:.3g} GiB ({fix})", fits)


class _Budget:
    """Faces built so far against the budget: `add` raises MeshTooLarge once they exceed it, naming the resolution
    that fits by the faces expected in all (so far / the fraction of the work done) and the estimate's exponent."""

    def __init__(self, resolution: int, memory: float, exponent: float):
        self.resolution, self.memory, self.exponent, self.faces = resolution, memory, exponent, 0

    def add(self, part, done: float) -> None:
        self.faces += 0 if part is None else len(part[1])
        if BYTES_PER_FACE * self.faces > self.memory:
            total = self.faces / max(done, 1e-9)
            cells = int((self.resolution - 1) * (self.memory / (BYTES_PER_FACE * total)) ** (1 / self.exponent))
            raise _too_large(self.resolution, self.memory, total, min(cells + 1, self.resolution - 1)
                             if cells >= 2 else None)


def _dense(grid: Grid, level: float, budget: _Budget | None = None) -> list:
    """Marching cubes on x-slabs [a, a + slab] of the full grid; a slab's last slice is kept as the next one's
    first (evaluated once)."""
    n, parts, last = grid.n, [], None
    slab = max(1, min(n - 1, SLAB_POINTS // (n * n)))
    full = np.arange(n)
    for a in range(0, n - 1, slab):
        values = grid.box(np.arange(a if last is None else a + 1, min(a + slab, n - 1) + 1), full, full)
        if last is not None:
            values = np.concatenate([last[None], values])
        parts.append(_march(values, level, (a, 0, 0)))
        if budget is not None:
            budget.add(parts[-1], min(a + slab, n - 1) / (n - 1))
        last = values[-1].copy()
    return parts


def _coarse_to_fine(grid: Grid, level: float, bound, block: int, budget: _Budget | None = None) -> list:
    """Prune blocks on the coarse grid of block corners, then refine (`_refine`) and march tiles of blocks: a tile
    is one block thick in x, spans z and takes as many blocks in y as TILE_POINTS allows (in equal parts).
    `shared` (sorted int64 flat grid indices, float32 values) keeps the points evaluated in the current x-slab and
    on its lower face, so that a point on the face between two tiles is evaluated once (a model's output can
    differ in the last bits between batches, which would crack the mesh)."""
    edges = _breaks(grid.n - 1, block)
    coarse = grid.box(edges, edges, edges)
    alive = _prune(coarse - level, bound(block))
    blocks = len(edges) - 1
    rows = min(blocks, max(1, TILE_POINTS // ((block + 1) * block * grid.n)))
    rows = -(-blocks // -(-blocks // rows))  # the same number of tiles, evened out
    parts, shared, done = [], (np.zeros(0, np.int64), np.zeros(0, np.float32)), 0
    for x in range(blocks):
        for y in range(0, blocks, rows):
            if alive[x, y:y + rows].any():
                corners = [edges[x:x + 2], edges[y:y + rows + 1], edges]
                values, shared = _refine(grid, level, bound, block, corners, coarse[x:x + 2, y:y + rows + 1],
                                         alive[x:x + 1, y:y + rows], shared)
                parts.append(_march(values, level, [e[0] for e in corners]))
                if budget is not None:
                    done += int(alive[x, y:y + rows].sum())
                    budget.add(parts[-1], done / alive.sum())
    return parts


def _refine(grid: Grid, level: float, bound, block: int, corners: list, values: np.ndarray, alive: np.ndarray,
            shared: tuple) -> tuple[np.ndarray, tuple]:
    """Values on every point of a tile of blocks: `corners` its block edges per axis (grid indices), `values` fn
    there, `alive` its blocks that `_prune` kept. Level by level the cell side halves: the values are carried to
    the finer lattice (each point takes the value of the coarse point at or below it on every axis), then the new
    corners of the cells alive are evaluated, all in one batch (`chunk` points per call of fn) or taken from
    `shared`, and cells that pass the Lipschitz test are pruned. A point never evaluated thus holds the value of a
    corner of a pruned cell around it: the sign of its cell. -> (values, shared updated)."""
    start, size = np.array([e[0] for e in corners]), [int(e[-1] - e[0]) for e in corners]
    edges = [e - e[0] for e in corners]
    keys, known = shared
    keep = keys // grid.n ** 2 >= start[0]  # x-slabs go in increasing x: earlier slabs are done with
    keys, known, added = keys[keep], known[keep], []
    step = block // 2
    while step >= 1:
        finer = [_breaks(s, step) for s in size]
        old = [np.searchsorted(f, e) for f, e in zip(finer, edges)]  # the coarser lattice within the finer
        for ax, o in enumerate(old):
            children = np.diff(o)  # per cell: 2, 1 where the grid's last block is clipped
            alive = np.repeat(alive, children, axis=ax)
            values = np.repeat(values, np.append(children, 1), axis=ax)
        need = _cells_to_points(alive)
        need[np.ix_(*old)] = False
        i, j, k = (f[n] + s for f, n, s in zip(finer, np.nonzero(need), start))
        key = (i * grid.n + j) * grid.n + k
        pos = np.searchsorted(keys, key).clip(max=len(keys) - 1)
        hit = keys[pos] == key if len(keys) else np.zeros(len(key), bool)
        new = np.empty(len(key), np.float32)
        new[hit], new[~hit] = known[pos[hit]], grid.at(i[~hit], j[~hit], k[~hit])
        values[need] = new
        added.append((key[~hit], new[~hit]))
        if step > 1:
            alive = _prune(values - level, bound(step), alive)
        edges, step = finer, step // 2
    keys, known = np.concatenate([keys] + [a for a, _ in added]), np.concatenate([known] + [v for _, v in added])
    order = np.argsort(keys)
    return values, (keys[order], known[order])


def _prune(d: np.ndarray, bound: float, alive: np.ndarray | None = None) -> np.ndarray:
    """Corner values d - level on a lattice (a+1, b+1, c+1) -> the cells (a, b, c) the level set may enter (within
    `alive`): not all corners above the level by more than bound, nor all below it by more than bound."""
    keep = (_pairs(d, np.minimum) <= bound) & (_pairs(d, np.maximum) >= -bound)
    return keep if alive is None else keep & alive


def _pairs(a: np.ndarray, op) -> np.ndarray:
    """op over the 8 corners of every cell: point array (a+1, b+1, c+1) -> cell array (a, b, c)."""
    for ax in range(3):
        m = np.moveaxis(a, ax, 0)
        a = np.moveaxis(op(m[:-1], m[1:]), 0, ax)
    return a


def _cells_to_points(cells: np.ndarray) -> np.ndarray:
    """Cell mask (a, b, c) -> point mask (a+1, b+1, c+1): the corners of the cells in the mask."""
    for ax in range(3):
        out = np.zeros(tuple(s + (a == ax) for a, s in enumerate(cells.shape)), bool)
        m, c = np.moveaxis(out, ax, 0), np.moveaxis(cells, ax, 0)
        m[:-1] = c
        m[1:] |= c
        cells = out
    return cells


def _breaks(cells: int, step: int) -> np.ndarray:
    """Cell boundaries 0, step, 2 step, ..., cells (the last cell clipped)."""
    return np.append(np.arange(0, cells, step), cells)


def _march(values: np.ndarray, level: float, offset) -> tuple[np.ndarray, np.ndarray] | None:
    """Marching cubes (Lewiner) of one slab/block -> (vertices in global grid indices, float64; faces) or None.

    skimage gives float32 vertices relative to the block, so the same vertex would differ in its last bits between
    a slab and a block; each vertex is therefore recomputed on its grid edge (p, p + e_a) in float64 from the
    values there, p_a + t with t = (level - f(p)) / (f(p + e_a) - f(p)), t within SNAP of 0 or 1 snapped to the
    end point (SNAP exceeds float32 round-off of indices below 4096), so both methods agree bit for bit."""
    from skimage.measure import marching_cubes
    lo, hi = float(values.min()), float(values.max())
    if not lo <= level <= hi or lo == hi:
        return None
    verts, faces, _, _ = marching_cubes(values, level, allow_degenerate=True)
    verts = verts.astype(np.float64)
    corner = np.round(verts).astype(np.int64)
    off = np.abs(verts - corner)
    rows = np.flatnonzero(off.max(axis=1) > 0)  # the rest lie on grid points
    axis = off[rows].argmax(axis=1)
    p0 = corner[rows]
    p0[np.arange(len(rows)), axis] = np.floor(verts[rows, axis])
    p1 = p0.copy()
    p1[np.arange(len(rows)), axis] += 1
    f0 = values[tuple(p0.T)].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.nan_to_num((level - f0) / (values[tuple(p1.T)] - f0))
    t = np.where(t < SNAP, 0.0, np.where(t > 1 - SNAP, 1.0, t))
    start = np.asarray(offset, dtype=np.int64)
    verts = (corner + start).astype(np.float64)
    verts[rows, axis] = (p0[np.arange(len(rows)), axis] + start[axis]).astype(np.float64) + t
    return verts, faces


def _stitch(parts: list, grid: Grid) -> trimesh.Trimesh:
    """Merge the pieces: equal vertices (shared slab/block faces) become one, degenerate triangles are dropped;
    vertices sorted lexicographically, then mapped to model units lo + index * h."""
    parts = [p for p in parts if p is not None and len(p[1])]
    if not parts:
        return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), process=False)
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    verts = np.concatenate([v for v, _ in parts])
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets)])
    verts, inverse = np.unique(verts, axis=0, return_inverse=True)
    faces = inverse.reshape(-1)[faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    used, faces = np.unique(faces, return_inverse=True)
    return trimesh.Trimesh(grid.lo + verts[used] * grid.h, faces.reshape(-1, 3), process=False)

