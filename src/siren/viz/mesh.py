"""Pictures of meshes and SDFs (PNG): a shaded mesh from a few views, an SDF on a plane with its level contour."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..mesh.grid import Grid
from ..mesh.post import decimate
from . import pyplot


def render_mesh_png(mesh, path: str | Path, max_faces: int = 50_000,
                    views: tuple = ((25, -60), (25, 120)), title: str | None = None) -> Path:
    """A PNG of mesh (trimesh.Trimesh) from each (elevation, azimuth) view in degrees: flat Lambert shading, intensity
    0.25 + 0.75 max(0, n . l) with the light l 30 degrees above and left of the camera (two-sided |n . l| when the
    mesh is open). Meshes above max_faces are decimated first (`siren.mesh.decimate`, picture only)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    plt = pyplot()
    verts, faces = decimate(np.asarray(mesh.vertices), np.asarray(mesh.faces), max_faces)
    tri = verts[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    center, half = (verts.max(0) + verts.min(0)) / 2, (verts.max(0) - verts.min(0)).max() / 2
    closed = mesh.is_watertight
    fig = plt.figure(figsize=(5 * len(views), 5))
    for i, (elev, azim) in enumerate(views):
        eye, light = _toward(elev, azim), _toward(elev + 30, azim - 30)
        show = normals @ eye > 0 if closed else np.ones(len(faces), bool)  # back faces of a closed mesh are hidden
        lit = normals @ light
        shade = 0.25 + 0.75 * np.clip(lit if closed else np.abs(lit), 0, 1)
        colors = np.column_stack([np.outer(shade, (0.55, 0.7, 0.9)), np.ones(len(faces))])
        ax = fig.add_subplot(1, len(views), i + 1, projection="3d")
        ax.add_collection3d(Poly3DCollection(tri[show], facecolors=colors[show], edgecolors="none"))
        for axis, c in zip("xyz", center):
            getattr(ax, f"set_{axis}lim")(c - half, c + half)
        ax.set_box_aspect((1, 1, 1), zoom=1.3)
        ax.view_init(elev, azim)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def sdf_slice_png(fn, path: str | Path, axis: int = 2, at: float = 0.0, resolution: int = 256,
                  bounds: tuple[float, float] = (-1.0, 1.0), level: float = 0.0, device=None) -> Path:
    """A PNG of fn on the plane {p[axis] = at} over bounds^2: diverging colormap centered at `level` (blue below,
    red above) with the level contour in black."""
    plt = pyplot()
    ticks = np.linspace(bounds[0], bounds[1], resolution)
    u, v = np.meshgrid(ticks, ticks, indexing="ij")
    plane = [a for a in range(3) if a != axis]
    points = np.empty((resolution * resolution, 3), np.float32)
    points[:, plane[0]], points[:, plane[1]], points[:, axis] = u.ravel(), v.ravel(), at
    values = Grid(fn, resolution, bounds, 65536, device).evaluate(points).reshape(resolution, resolution)
    span = float(np.abs(values - level).max()) or 1.0
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    im = ax.imshow(values.T, origin="lower", extent=(*bounds, *bounds), cmap="RdBu_r", vmin=level - span,
                   vmax=level + span)
    if values.min() < level < values.max():
        ax.contour(ticks, ticks, values.T, levels=[level], colors="k", linewidths=1)
    names = "xyz"
    ax.set_xlabel(names[plane[0]])
    ax.set_ylabel(names[plane[1]])
    ax.set_title(f"f on {names[axis]} = {at:g}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _toward(elev: float, azim: float) -> np.ndarray:
    """Unit vector toward a matplotlib camera at (elevation, azimuth) in degrees."""
    e, a = np.radians(elev), np.radians(azim)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])

