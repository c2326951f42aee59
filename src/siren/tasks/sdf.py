"""`siren sdf`: a signed distance function from an oriented point cloud, by solving the Eikonal boundary-value
problem (the paper's sec. 4.2), and meshes of its zero level set.

Units: the input is centred and scaled into the model's domain (`siren.data.pointcloud`: max |coordinate| 0.9);
the network f maps model coordinates in [-1, 1]^3 to a signed distance in model units (negative inside). Meshes
are written back in the input's units.

Each step draws B surface points (without replacement from the cloud, with their normals n) and B points uniform
in [-1, 1]^3, and minimises (the reference code's terms and weights, sdf_loss in its loss_functions.py):

    sdf       mean over surface points of |f|                         weight 3e3 / 2
    inter     mean over uniform points of exp(-100 |f|)               weight 1e2 / 2
    normal    mean over surface points of 1 - cos(grad f, n)          weight 1e2 / 2
    eikonal   mean over all 2B points of | |grad f| - 1 |             weight 5e1

The reference code takes every term's mean over the whole batch of 2B points with the other half zeroed, so its
weights 3e3, 1e2, 1e2 act on means over B points halved: the weights above are the same loss, with each raw term
logged as the mean over its own points. (The paper's text gives the terms without these weights.) With
`--no-normals` the normal term is dropped (a cloud without normals otherwise gets estimated ones, with a warning).
The gradient comes from `siren.diff` (forward mode, fused for SIREN). Data-parallel under torchrun
(`data_parallel`): every process draws the step's batch (same seed) and trains on its block of the B surface and
the B uniform points (B must split evenly), so the averaged gradients are those of one process with the whole batch.

SIREN's first layer: omega_0 = FIRST_FREQUENCY = 5 (the `first_omega_0` hint; --first-omega-0 overrides). With the
paper's 30 the field far from the points is noisy, high-frequency and within +-0.2 of zero, and its sign flips leave
more spurious pieces in the mesh (pockets in the box's corners, bubbles inside). Even at 5 such pieces remain, hence
the dropping below (docs/shapes.md has the scores of each first omega_0, with and without dropping).

Metrics at log steps: mean |f| on 2,000 fixed surface points and the mean Eikonal error at 2,000 fixed uniform
points. At the end: a mesh by coarse-to-fine marching cubes (`siren.mesh`, bounded memory), scored against the
reference (the exact surface for analytic demos, `--reference` when given, else the input points): Chamfer distance
and F-score (1% threshold) in units of the reference's bounding-box diagonal, normal consistency.

Pieces the data never asked for: the loss pins f only near the points (and keeps |f| off zero elsewhere), so far
from them the field's sign is whatever training left there, and its zero set can hold closed pieces with no input
point anywhere near (bubbles inside, pockets in the box's corners). The mesh keeps the connected pieces that come
within keep_within (default KEEP_WITHIN = 2%) of the points' bounding-box diagonal of an input point and drops the
others, for every model alike, with a warning; metrics.json says how many pieces and how much area went, and
the scores of the whole zero set ("*_all_pieces"). `--keep-within 0` keeps every piece. `siren mesh` does the same
with the points kept in the checkpoint (at most SUPPORT_POINTS).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import diff, distributed, viz
from ..data.grid import random_indices
from ..errors import SirenError
from ..mesh import MeshTooLarge, require_resolution
from ..metrics import SurfaceReference, mesh_metrics
from ..neighbours import PointIndex
from ..options import option
from ..runtime import require_points
from .base import Output, Task, register

DEMOS = ("sphere", "torus", "bunny")
WEIGHTS = {"sdf": 3e3 / 2, "inter": 1e2 / 2, "normal": 1e2 / 2, "eikonal": 5e1}
INTER_ALPHA = 100.0        # exp(-alpha |f|) off the surface
PROBES = 2_000             # fixed points for the metrics at log steps
FIRST_FREQUENCY = 5.0      # the suggested omega_0 of a sine first layer here (the module docstring says why)
KEEP_WITHIN = 0.02         # mesh pieces farther than this x the points' bbox diagonal from every point are dropped
SUPPORT_POINTS = 100_000   # at most this many input points are kept in the checkpoint for `siren mesh`
MESH_MEMORY = 1.0          # GiB: the default memory budget of a mesh (`siren.mesh.extract_mesh`'s `memory`)
MIN_RESOLUTION = 8         # a mesh below this many points per axis is not worth writing
MESH_MEMORY_HELP = ("memory budget of the mesh in GiB: a resolution whose mesh would need more is refused, naming "
                    "the resolution that fits")


@dataclass
class SDFConfig:
    path: str | None = option(None, "point cloud (.xyz: x y z [nx ny nz] per line; .npy: an N x 3 or N x 6 array; "
                              ".ply points) or mesh (.ply .obj .off .stl; sampled with face normals)", positional=True)
    demo: str | None = option(None, "sphere, torus (analytic, exact normals) or bunny (the Stanford range scan in "
                              "pymeshfix's wheel: pip install -e '.[shapes]')", choices=list(DEMOS))
    points: int = option(20_000, "points sampled from a mesh file or an analytic demo")
    batch: int = option(5_000, "surface points per step (and as many uniform points in [-1, 1]^3)")
    normals: bool = option(True, "train without the normal term (for clouds without trustworthy normals)",
                           flag="--no-normals")
    resolution: int = option(256, "marching-cubes grid of the final mesh (points per axis)")
    reference: str | None = option(None, "reference point cloud or mesh to score against, in the input's units "
                                   "(default: the exact surface of a demo, else the input points)")
    keep_within: float = option(KEEP_WITHIN, "keep the mesh pieces that come within this fraction of the points' "
                                "bounding-box diagonal of an input point, drop the others (0: keep every piece)")
    mesh_memory: float = option(MESH_MEMORY, "memory budget of the final mesh in GiB: a field whose mesh would "
                                "need more (an untrained one crosses zero almost everywhere) is meshed at the "
                                "resolution that fits, or not at all, with a warning")


@dataclass
class SDFRender:
    """`siren render` / `siren mesh` of an SDF."""
    resolution: int = option(256, "grid points per axis")
    mesh_memory: float = option(MESH_MEMORY, MESH_MEMORY_HELP)


@register
class SDFTask(Task):
    """Fit a signed distance function to surface points and normals (see the module docstring)."""

    name = "sdf"
    help = "a signed distance function from a point cloud with normals (Eikonal), and its mesh"
    Config = SDFConfig
    Render = SDFRender
    train_defaults = {"steps": 500, "lr": 5e-4, "schedule": "cosine"}   # the reference: 1e-4 constant (docs/shapes.md)
    metric_name = "surface"
    goals = {"surface": "min", "chamfer": "min", "normal_consistency": "max", "f_score": "max"}
    in_features, out_features = 3, 1
    data_parallel = True

    def __init__(self, cloud, reference: tuple[np.ndarray, np.ndarray | None] | None = None, batch: int = 5_000,
                 use_normals: bool = True, resolution: int = 256, source: str = "", keep_within: float = KEEP_WITHIN,
                 shard: tuple[int, int] = (0, 1), mesh_memory: float = MESH_MEMORY):
        """cloud: a `siren.data.pointcloud.PointCloud`; reference: (points, normals or None) in model units;
        shard: (rank, world) of a data-parallel run (the batch must split evenly); mesh_memory: the final mesh's
        budget in GiB."""
        if batch < 1 or resolution < 8:
            raise SirenError(f"must be >= 1 and --resolution >= 8, got {batch} and {resolution}", field="batch")
        require_points(batch, "batch", "surface points a step")
        require_resolution(resolution)
        if not 0 <= keep_within < float("inf"):
            raise SirenError(f"must be >= 0, got {keep_within}", field="keep_within")
        self.keep_within, self.mesh_memory = keep_within, _mesh_memory(mesh_memory)
        if use_normals and cloud.normals is None:
            raise SirenError("the point cloud has no normals (estimate them or pass --no-normals)")
        self.cloud, self.batch, self.use_normals, self.resolution = cloud, batch, use_normals, resolution
        self.parts = [distributed.batch_share(b, *shard, field="batch") for b in (min(batch, len(cloud.points)), batch)]
        self.reference = SurfaceReference(*(reference or (cloud.points, cloud.normals)))
        self.support = self.reference if reference is None else SurfaceReference(cloud.points)  # the input points
        self.source = source
        self.points = torch.from_numpy(np.asarray(cloud.points, np.float32))
        self.normals = torch.from_numpy(np.asarray(cloud.normals, np.float32)) if use_normals else None
        g = torch.Generator().manual_seed(1234)
        self.probe_surface = self.points[torch.randperm(len(self.points), generator=g)[:PROBES]]
        self.probe_volume = torch.rand(PROBES, 3, generator=g) * 2 - 1

    @classmethod
    def from_config(cls, config: SDFConfig, shard: tuple[int, int] = (0, 1)):
        from ..data.pointcloud import demo_bunny, load_points, point_cloud
        from ..shapes import Sphere, Torus, sample_surface
        if (config.path is None) == (config.demo is None):
            raise SirenError(f"give a point cloud PATH or --demo ({', '.join(DEMOS)}), not both or neither")
        if config.points < 10:
            raise SirenError(f"must be at least 10, got {config.points}", field="points")
        require_points(config.points, "points", "surface points")
        reference = None
        if config.demo in ("sphere", "torus"):
            shape = Sphere(0.5) if config.demo == "sphere" else Torus(0.5, 0.2)
            cloud = point_cloud(*sample_surface(shape, config.points, seed=0), name=config.demo)
            exact, normals = sample_surface(shape, 100_000, seed=1)
            reference = (cloud.to_model_units(exact), normals)
        else:
            cloud = load_points(demo_bunny() if config.demo else config.path, samples=config.points,
                                estimate=config.normals)
        if config.reference is not None:
            ref = load_points(config.reference, estimate=False)
            reference = (cloud.to_model_units(ref.to_input_units(ref.points)), ref.normals)
        return cls(cloud, reference, batch=config.batch, use_normals=config.normals, resolution=config.resolution,
                   source=config.demo or str(config.path), keep_within=config.keep_within, shard=shard,
                   mesh_memory=config.mesh_memory)

    def model_hints(self) -> dict:
        """A sine first layer at omega_0 = FIRST_FREQUENCY (the paper's 30 leaves spurious sign flips far from the
        surface)."""
        return {"first_omega_0": FIRST_FREQUENCY}

    def to(self, device):
        self.points, self.probe_surface, self.probe_volume = (t.to(device) for t in
                                                              (self.points, self.probe_surface, self.probe_volume))
        self.normals = None if self.normals is None else self.normals.to(device)
        return self

    def loss(self, model, step: int, generator: torch.Generator) -> dict:
        idx = random_indices(len(self.points), self.batch, generator)
        uniform = torch.rand(self.batch, 3, generator=generator) * 2 - 1
        on, off = (slice(p.start, p.stop) for p in self.parts)      # this process's blocks of the step's batch
        idx, uniform = idx[on].to(self.points.device), uniform[off].to(self.points.device)
        x = torch.cat([self.points[idx], uniform])
        out = diff.derivatives(model, x, gradient=True)
        f, grad = out.value[:, 0], out.gradient[:, 0]                        # (2B,), (2B, 3)
        return sdf_terms(f, grad, len(idx), None if self.normals is None else self.normals[idx])

    def evaluate(self, model) -> dict:
        with torch.no_grad():
            surface = model(self.probe_surface).abs().mean()
        grad = diff.derivatives(model, self.probe_volume, gradient=True).gradient.detach()
        return {"surface": float(surface), "eikonal_error": float((grad.norm(dim=-1) - 1).abs().mean())}

    def scored_mesh(self, fn):
        """The zero level set of fn ((M, 3) -> (M,), model units) at the task's resolution, without the pieces
        farther than keep_within of the bbox diagonal from every input point -> (mesh, scores against the
        reference; with "pieces_dropped", "area_dropped" and, when a piece went, the "*_all_pieces" scores).
        A mesh over the memory budget is made at the resolution that fits, with one warning, also in the scores
        ("mesh_warning", "resolution_asked"); raises MeshTooLarge when none of at least MIN_RESOLUTION fits."""
        resolution, note = self.resolution, None
        while True:
            try:
                whole, mesh, dropped, area = _kept_mesh(fn, resolution, self.support.index, self.keep_within,
                                                        self.mesh_memory)
                break
            except MeshTooLarge as e:
                if e.fits is None or e.fits < MIN_RESOLUTION or e.fits >= resolution:
                    raise
                if note is None:
                    note = f"mesh at {e.fits}^3 grid points, not {self.resolution}^3: --{e}"
                    warnings.warn(note, stacklevel=2)
                resolution = e.fits
        result = {**mesh_metrics(mesh, self.reference), "vertices": len(mesh.vertices), "faces": len(mesh.faces),
                  "watertight": bool(mesh.is_watertight), "resolution": resolution, "pieces_dropped": dropped,
                  "area_dropped": area}
        if note is not None:
            result.update(resolution_asked=self.resolution, mesh_warning=note)
        if dropped:
            result.update({f"{k}_all_pieces": v for k, v in mesh_metrics(whole, self.reference).items()})
        return mesh, result

    def write_outputs(self, model, out_dir: Path, history: list):
        from ..mesh import render_mesh_png, save_mesh, sdf_slice_png, to_units
        out_dir = Path(out_dir)
        sdf_slice_png(_values(model), out_dir / "sdf_slice.png")
        viz.curve(history, "surface", out_dir / "surface.png", ylabel="mean |f| on the surface (model units)")
        files = [Output("sdf_slice.png", "figure", "the SDF on the plane z = 0 with its zero level set"),
                 Output("surface.png", "figure", "mean |f| at surface points against training step")]
        try:
            mesh, result = self.scored_mesh(_values(model))
        except SirenError as e:            # an untrained or diverged field: keep the run, say why there is no mesh
            note = f"no mesh written: {'--' if isinstance(e, MeshTooLarge) else ''}{e}"
            warnings.warn(note, stacklevel=2)
            return {"mesh": None, "mesh_warning": note}, files
        save_mesh(to_units(mesh, self.cloud.center, self.cloud.scale), out_dir / "mesh.ply")
        render_mesh_png(mesh, out_dir / "mesh.png", title=f"{self.source}: Chamfer {result['chamfer']:.4f}")
        return result, [Output("mesh.ply", "mesh", f"zero level set at {result['resolution']}^3, input units; "
                               f"Chamfer {result['chamfer']:.4f} of the bbox diagonal, normal consistency "
                               f"{result['normal_consistency']:.3f}"),
                        Output("mesh.png", "image", "the mesh from two sides"), *files]

    def meta(self) -> dict:
        return {"task": self.name, "center": [float(c) for c in self.cloud.center], "scale": float(self.cloud.scale),
                "source": self.source, "keep_within": self.keep_within}

    def state_dict(self) -> dict:
        """The input points (model units, at most SUPPORT_POINTS, seeded choice) for `siren mesh` to drop pieces."""
        points = self.cloud.points
        if len(points) > SUPPORT_POINTS:
            points = points[np.random.default_rng(0).choice(len(points), SUPPORT_POINTS, replace=False)]
        return {"support": torch.as_tensor(np.asarray(points, np.float32))}

    @classmethod
    def render(cls, model, meta, out, options: SDFRender) -> None:
        """The zero level set as a mesh file (.ply, .obj, .glb) at `options.resolution`^3 grid points, input units,
        without the pieces far from the input points as in training (checkpoints that keep the points)."""
        from ..mesh import MESH_SUFFIXES, save_mesh, to_units
        if options.resolution < 8:
            raise SirenError(f"must be at least 8, got {options.resolution}", field="resolution")
        if Path(out).suffix.lower() not in MESH_SUFFIXES:
            raise SirenError(f"an SDF renders to a mesh file, got {Path(out).name} (use {', '.join(MESH_SUFFIXES)})")
        support = meta.get("state", {}).get("support")
        mesh = _kept_mesh(_values(model), options.resolution, None if support is None else support.numpy(),
                          meta.get("keep_within", KEEP_WITHIN), _mesh_memory(options.mesh_memory))[1]
        save_mesh(to_units(mesh, meta["center"], meta["scale"]), out)

    @classmethod
    def example_args(cls, folder: Path) -> list[str]:
        return ["--demo", "sphere", "--points", "200", "--batch", "64", "--resolution", "16"]


def sdf_terms(f: torch.Tensor, grad: torch.Tensor, surface: int, normals: torch.Tensor | None = None) -> dict:
    """The loss terms {name: (value, weight)} of the module docstring. f (..., P) and grad (..., P, 3) at P points
    of which the first `surface` along the last axis are surface points (normals (..., surface, 3), or None: no
    normal term) and the rest uniform; each term is the mean over its points, of shape (...) (one per leading
    index: a scalar for f (P,))."""
    terms = {"sdf": (f[..., :surface].abs().mean(-1), WEIGHTS["sdf"]),
             "inter": (torch.exp(-INTER_ALPHA * f[..., surface:].abs()).mean(-1), WEIGHTS["inter"])}
    if normals is not None:
        cos = torch.nn.functional.cosine_similarity(grad[..., :surface, :], normals, dim=-1)
        terms["normal"] = ((1 - cos).mean(-1), WEIGHTS["normal"])
    terms["eikonal"] = ((grad.norm(dim=-1) - 1).abs().mean(-1), WEIGHTS["eikonal"])
    return terms


def _mesh_memory(gib: float) -> float:
    """The --mesh-memory option (GiB), checked -> bytes."""
    if not 0 < gib < float("inf"):
        raise SirenError(f"must be a positive number of GiB, got {gib}", field="mesh_memory")
    return gib * 2 ** 30


def _kept_mesh(fn, resolution: int, points, keep_within: float, memory: float):
    """The zero level set of fn on a resolution^3 grid (`siren.mesh.extract_mesh`, within `memory` bytes: else
    MeshTooLarge) without the pieces that come no nearer than keep_within x the points' bbox diagonal to any of
    points ((N, 3) or their `PointIndex`;
    `siren.mesh.keep_supported`; points None or keep_within 0: every piece kept), with warnings that say what was
    dropped and whether the kept mesh is open -> (whole mesh, kept mesh, pieces dropped, area fraction dropped)."""
    from ..mesh import extract_mesh, keep_supported, warn_if_open
    whole = extract_mesh(fn, resolution, check_watertight=False, memory=memory)
    kept, dropped, area = whole, 0, 0.0
    if points is not None and keep_within > 0:
        points = points if isinstance(points, PointIndex) else PointIndex(points)
        tolerance = keep_within * np.linalg.norm(np.ptp(points.points, axis=0))
        kept, dropped, area = keep_supported(whole, points, tolerance)
    if dropped:
        warnings.warn(f"dropped {dropped} mesh piece(s) ({100 * area:.2f}% of the area) farther than {keep_within:g} "
                      f"of the bbox diagonal from every input point (--keep-within 0 keeps them)", stacklevel=3)
    warn_if_open(kept, stacklevel=3)
    return whole, kept, dropped, area


def _values(model):
    """The network as a function (M, 3) -> (M,) for meshing, on its own device and dtype."""
    p = next(model.parameters())
    return lambda x: diff.inference(model, x.to(p.device, p.dtype))[:, 0]
