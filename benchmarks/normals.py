"""Normals of a scan that has none: siren's `estimate_normals` against Open3D's, side by side on the same points.

    python benchmarks/normals.py [--sizes 200000,2000000] [--k 16] [--shapes torus,box,bunny]

Open3D is the maintained point-cloud library a user would reach for (`pip install open3d-cpu`); this script decides
whether it would do the job better than our code as an optional extra. Each method runs on each cloud in a fresh
process (so its peak resident memory is its own), 1 repeat per size; the CPU is printed.

    siren    estimate_normals(points, k): PCA of k neighbours in blocks, spanning-tree orientation
    open3d   estimate_normals(KDTreeSearchParamKNN(k)) (the direction), then orient_normals_consistent_tangent_plane(k),
             the library's own way to orient a cloud with no viewpoint (Hoppe's spanning tree, like ours)

Clouds with exact normals, uniform by area, in [-1, 1]^3: a torus (R 0.5, r 0.2), a box 1.2 x 0.8 x 0.5 (sharp
edges: the neighbourhoods there straddle two faces) and, with the `shapes` extra, the Stanford bunny mesh
resampled (face normals). Scores: the median angle between the estimated and the true normal lines (degrees,
sign ignored: direction quality) and the share of points whose normal points the true way (n . n_true > 0:
orientation quality). Open3D's orientation is skipped above --o3d-orient-max points (it takes minutes at 2 x 10^5):
such a row times and scores the direction alone.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from machine import cpu_name, peak_rss

METHODS = ("siren", "open3d")


def cloud(shape: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points on `shape` (uniform by area) and their exact outward unit normals, float64."""
    if shape == "torus":
        from siren.shapes import Torus, sample_surface
        return sample_surface(Torus(0.5, 0.2), n, seed=seed)
    import trimesh
    if shape == "box":
        mesh = trimesh.creation.box(extents=(1.2, 0.8, 0.5))
    else:
        from siren.data.pointcloud import demo_bunny
        mesh = trimesh.load(demo_bunny(), force="mesh")
        mesh.apply_translation(-mesh.bounds.mean(axis=0))
        mesh.apply_scale(1.8 / mesh.extents.max())
    points, face = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(points), np.asarray(mesh.face_normals[face])


def estimate(method: str, points: np.ndarray, k: int, orient: bool) -> tuple[np.ndarray, dict]:
    """(N, 3) points -> (N, 3) normals by `method` and its seconds per stage (Open3D's unoriented unless `orient`)."""
    from siren.data.pointcloud import estimate_normals
    seconds = {}
    t = time.perf_counter()
    if method == "siren":
        normals = estimate_normals(points, k=k)
        seconds["total"] = time.perf_counter() - t
        return normals, seconds
    import open3d as o3d
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
    seconds["direction"] = time.perf_counter() - t
    if orient:
        pcd.orient_normals_consistent_tangent_plane(k)
        seconds["total"] = time.perf_counter() - t
    return np.asarray(pcd.normals), seconds


def child(method: str, shape: str, n: int, k: int, orient: bool) -> dict:
    """In this (fresh) process: seconds, peak RSS and the scores of `method` on `shape` with n points."""
    points, truth = cloud(shape, n)
    base = peak_rss()
    normals, seconds = estimate(method, points, k, orient)
    normals = np.asarray(normals, dtype=np.float64)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    dots = np.einsum("ij,ij->i", normals, truth)
    peak = peak_rss()
    return {"seconds": seconds, "peak_rss_gb": peak / 2 ** 30, "rss_above_points_gb": (peak - base) / 2 ** 30,
            "median_angle_deg": float(np.degrees(np.median(np.arccos(np.clip(np.abs(dots), 0, 1))))),
            "right_sign": float((dots > 0).mean()) if "total" in seconds else None}


def _cells(r: dict, sep: str = ", ") -> str:
    if "timeout" in r:
        return sep.join(["-", f"over {r['timeout']:g}", "-", "-", "-"])
    s = r["seconds"]
    shown = [f"{s['direction']:.2f}" if "direction" in s else "-",
             f"{s['total']:.2f}" if "total" in s else "not run", f"{r['peak_rss_gb']:.2f}",
             f"{r['median_angle_deg']:.3f}", "-" if r["right_sign"] is None else f"{r['right_sign']:.4f}"]
    return sep.join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,2000000")
    parser.add_argument("--shapes", default="torus,box,bunny")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--o3d-orient-max", type=int, default=500_000,
                        help="skip Open3D's own orientation above this many points")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a method may take on one cloud")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "normals.json"))
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "SHAPE", "N", "ORIENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, shape, n, orient = args.child
        print(json.dumps(child(method, shape, int(n), args.k, orient == "1")))
        return
    shapes = [s for s in args.shapes.split(",") if s != "bunny" or importlib.util.find_spec("pymeshfix")]
    methods = METHODS if importlib.util.find_spec("open3d") else ("siren",)
    print(f"CPU: {cpu_name()}; methods: {', '.join(methods)}")
    rows = []
    for shape in shapes:
        for n in (int(s) for s in args.sizes.split(",")):
            for method in methods:
                orient = method == "siren" or n <= args.o3d_orient_max
                try:
                    proc = subprocess.run([sys.executable, __file__, "--k", str(args.k), "--child", method, shape,
                                           str(n), str(int(orient))], capture_output=True, text=True,
                                          timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    rows.append({"shape": shape, "points": n, "method": method, "timeout": args.timeout})
                    print(f"{shape} {n:,} {method}: over {args.timeout:g} s", flush=True)
                    continue
                if proc.returncode != 0:
                    print(f"{shape} {n} {method}: failed\n{proc.stderr[-1500:]}", file=sys.stderr)
                    continue
                rows.append({"shape": shape, "points": n, "method": method,
                             **json.loads(proc.stdout.strip().splitlines()[-1])})
                print(f"{shape} {n:,} {method}: " + _cells(rows[-1]), flush=True)
    print("\n| shape | points | method | direction (s) | oriented (s) | peak RSS (GB) | median angle (deg) | right sign |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['points']:,} | {r['method']} | " + _cells(r, " | ") + " |")
    Path(args.json).write_text(json.dumps({"cpu": cpu_name(), "k": args.k, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
