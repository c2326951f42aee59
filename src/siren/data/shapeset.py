"""Sets of shapes for learned SDF initializations (`siren meta sdf`): oriented point clouds in model units.

Every shape becomes a `siren.data.pointcloud.PointCloud` normalized on its own (bounding-box centre, max |coordinate|
0.9), as `siren sdf` normalizes a scan.

Folder (`folder_shapes`): every point cloud or mesh file directly in the folder (`siren.data.pointcloud.SUFFIXES`,
natural name order); every 10th file (files 10, 20, ...) is held out, the last one when there are fewer than 10.

Demo (`demo_shapes`, no download): procedural shapes from trimesh's primitives. Shape i is a torus, a capsule or a
box with its axis along z, or the union of 2 or 3 of them, each with random size and, in a union, its axis along x,
y or z and a random position (seed i): axis-aligned, as the classes of shape collections are. A surface sample: each
part's mesh sampled uniformly by area with its face normals, keeping the points outside every other part (by the
parts' exact signed distances), so the points lie on the union's boundary. Every 10th shape is held out, so a
held-out shape is a whole shape no training shape shares a part with.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SirenError
from .pointcloud import SUFFIXES, PointCloud, load_points, point_cloud

__all__ = ["Part", "Shape", "ShapeSet", "demo_shapes", "folder_shapes", "training_shapes", "KINDS", "DEMO_SHAPES"]

KINDS = ("torus", "capsule", "box")
DEMO_SHAPES = 200


@dataclass(frozen=True)
class Part:
    """A trimesh primitive at a rigid pose: kind in KINDS, size (torus: R, r; capsule: height between the caps'
    centres, radius; box: three side lengths), rotation (3, 3) and translation (3,): x = rotation @ p + translation
    for p in the primitive's own frame (centred at 0, axis z)."""
    kind: str
    size: tuple
    rotation: np.ndarray
    translation: np.ndarray

    def sdf(self, x: np.ndarray) -> np.ndarray:
        """Exact signed distance (negative inside) at points x (N, 3) -> (N,)."""
        p = (x - self.translation) @ self.rotation
        if self.kind == "torus":
            ring = np.hypot(p[:, 0], p[:, 1]) - self.size[0]
            return np.hypot(ring, p[:, 2]) - self.size[1]
        if self.kind == "capsule":
            h, r = self.size
            axis = np.clip(p[:, 2], -h / 2, h / 2)
            return np.linalg.norm(p - axis[:, None] * np.array([0.0, 0.0, 1.0]), axis=1) - r
        q = np.abs(p) - np.asarray(self.size) / 2
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)

    def mesh(self):
        """The primitive as a trimesh.Trimesh at its pose."""
        import trimesh
        make = {"torus": lambda: trimesh.creation.torus(*self.size, major_sections=64, minor_sections=32),
                "capsule": lambda: trimesh.creation.capsule(*self.size, count=[32, 32]),
                "box": lambda: trimesh.creation.box(self.size)}[self.kind]
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = self.rotation, self.translation
        return make().apply_transform(pose)


@dataclass(frozen=True)
class Shape:
    """The union of parts: sdf = min over parts."""
    parts: tuple[Part, ...]
    name: str

    def sdf(self, x: np.ndarray) -> np.ndarray:
        return np.min([p.sdf(x) for p in self.parts], axis=0)

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n points uniform by area on the union's boundary (see the module docstring) -> (points (n, 3), unit
        outward normals (n, 3)), float64."""
        import trimesh
        rng = np.random.default_rng(seed)
        meshes = [p.mesh() for p in self.parts]
        points, normals = np.empty((0, 3)), np.empty((0, 3))
        while len(points) < n:
            for i, m in enumerate(meshes):
                want = int(np.ceil(2 * n * m.area / sum(m.area for m in meshes)))
                pts, face = trimesh.sample.sample_surface(m, want, seed=int(rng.integers(2 ** 31)))
                others = [p.sdf(pts) for j, p in enumerate(self.parts) if j != i]
                keep = np.min(others, axis=0) >= 0 if others else np.ones(len(pts), bool)
                points = np.concatenate([points, pts[keep]])
                normals = np.concatenate([normals, m.face_normals[face][keep]])
        pick = rng.permutation(len(points))[:n]
        return points[pick], normals[pick]


AXES = (np.eye(3), np.eye(3)[[1, 2, 0]], np.eye(3)[[2, 0, 1]])     # a part's own z axis along z, x or y


def _part(kind: str, rng: np.random.Generator, moved: bool) -> Part:
    size = {"torus": lambda: (rng.uniform(0.3, 0.5), rng.uniform(0.08, 0.18)),
            "capsule": lambda: (rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.25)),
            "box": lambda: tuple(rng.uniform(0.25, 0.8, 3))}[kind]()
    rotation = AXES[int(rng.integers(3))] if moved else AXES[0]
    return Part(kind, tuple(float(s) for s in size), rotation, rng.uniform(-0.3, 0.3, 3) if moved else np.zeros(3))


def demo_shapes(count: int = DEMO_SHAPES) -> list[Shape]:
    """`count` procedural shapes (see the module docstring); shape i depends only on i."""
    shapes = []
    for i in range(count):
        rng = np.random.default_rng(i)
        parts = 1 if rng.uniform() < 0.5 else int(rng.integers(2, 4))
        kinds = rng.choice(KINDS, parts)
        shapes.append(Shape(tuple(_part(str(k), rng, parts > 1) for k in kinds), f"{i:03d}_{'+'.join(kinds)}"))
    return shapes


@dataclass
class ShapeSet:
    """Training and held-out shapes as PointClouds (model units), their names, and where they came from."""
    train: list[PointCloud]
    test: list[PointCloud]
    train_names: list[str]
    test_names: list[str]
    source: str
    rule: str

    def describe(self) -> dict:
        return {"source": self.source, "split": self.rule, "train": len(self.train), "test": len(self.test)}


def _held_out(count: int) -> set[int]:
    return set(range(9, count, 10)) or {count - 1}


def _split(clouds: list[PointCloud], names: list[str], source: str) -> ShapeSet:
    held = _held_out(len(clouds))
    rule = "every 10th shape held out" if len(clouds) >= 10 else "the last shape held out"
    pick = lambda seq, keep: [s for i, s in enumerate(seq) if (i in held) == keep]   # noqa: E731
    return ShapeSet(pick(clouds, False), pick(clouds, True), pick(names, False), pick(names, True), source, rule)


def demo_set(count: int = DEMO_SHAPES, points: int = 4096) -> ShapeSet:
    """The demo shapes with `points` surface points each, split (every 10th held out)."""
    if count < 2:
        raise SirenError(f"must be at least 2 (one is held out), got {count}", field="shapes")
    shapes = demo_shapes(count)
    clouds = [point_cloud(*s.sample(points, seed=i), name=s.name) for i, s in enumerate(shapes)]
    return _split(clouds, [s.name for s in shapes], f"procedural trimesh primitives (demo, {count} shapes)")


def folder_shapes(folder: str | Path, points: int = 4096) -> ShapeSet:
    """Every shape file of `folder` (meshes sampled at `points` points, clouds as they are; missing normals
    estimated) -> ShapeSet. One-line SirenErrors: not a folder, no shape file, files of another kind beside them,
    fewer than 2 shapes."""
    import re
    folder = Path(folder)
    if not folder.is_dir():
        raise SirenError(f"not a folder: {folder} (pass a folder of shapes, or --demo)")
    visible = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    files = sorted((p for p in visible if p.suffix.lower() in SUFFIXES),
                   key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])
    others = sorted(p.name for p in visible if p.suffix.lower() not in SUFFIXES)
    if not files:
        raise SirenError(f"no shapes in {folder} (expected point clouds or meshes ending in {', '.join(SUFFIXES)}"
                         f"{'; it holds ' + ', '.join(others[:3]) if others else ''})")
    if others:
        raise SirenError(f"{folder} mixes {len(files)} shape file(s) with {len(others)} other file(s) ("
                         f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); move them out")
    if len(files) < 2:
        raise SirenError(f"{folder} holds 1 shape; a shape prior needs at least 2 (one is held out for testing)")
    clouds = [load_points(f, samples=points) for f in files]
    return _split(clouds, [f.name for f in files], str(folder))


def training_shapes(folder: str | Path | None, demo: bool, points: int = 4096,
                    count: int = DEMO_SHAPES) -> ShapeSet:
    """The ShapeSet of a DATA folder or of the demo shapes: exactly one of them (a SirenError otherwise)."""
    if (folder is None) == (not demo):
        raise SirenError("give a DATA folder of shapes or --demo (not both, not neither)")
    return demo_set(count, points) if demo else folder_shapes(folder, points)
