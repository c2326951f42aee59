"""siren.tasks.sdf: the Eikonal loss on exact and wrong SDFs, meshes in the input's units, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import trimesh

from siren.cli import main
from siren.data.pointcloud import point_cloud
from siren.shapes import Sphere, Torus, sample_surface
from siren.models import build_model
from siren.tasks.sdf import FIRST_FREQUENCY, SDFRender, SDFTask


class Analytic(torch.nn.Module):
    """An analytic SDF as a network (autograd path), times `factor` (1: exact; else |grad f| = factor)."""

    def __init__(self, shape, factor=1.0):
        super().__init__()
        self.shape, self.factor = shape, factor
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return (self.factor * self.shape(x.double()) + self.dummy)[:, None].to(x.dtype)


def _task(shape, n=2000, **kw):
    cloud = point_cloud(*sample_surface(shape, n, seed=0))
    return SDFTask(cloud, batch=500, **kw), cloud


@pytest.mark.parametrize("shape", [Sphere(0.5), Torus(0.5, 0.2)])
def test_exact_sdf_zeroes_the_boundary_terms_and_a_scaled_one_does_not(shape):
    task, cloud = _task(shape)
    exact = Analytic(lambda p: shape(p * cloud.scale + torch.as_tensor(cloud.center)) / cloud.scale)
    terms = task.loss(exact, 0, torch.Generator().manual_seed(0))
    assert terms["sdf"][0] < 1e-6 and terms["normal"][0] < 1e-6 and terms["eikonal"][0] < 1e-3
    assert 0 < terms["inter"][0] < 0.05                   # few uniform points lie within 1/100 of the surface
    wrong = Analytic(lambda p: shape(p * cloud.scale + torch.as_tensor(cloud.center)) / cloud.scale, factor=2.0)
    assert task.loss(wrong, 0, torch.Generator().manual_seed(0))["eikonal"][0].item() == pytest.approx(1.0, abs=1e-3)
    flipped = Analytic(lambda p: -shape(p * cloud.scale + torch.as_tensor(cloud.center)) / cloud.scale)
    assert task.loss(flipped, 0, torch.Generator().manual_seed(0))["normal"][0].item() == pytest.approx(2.0, abs=1e-6)


def test_siren_first_omega_is_the_documented_default():
    """The module docstring's first-layer omega_0 for SIREN (lower than the paper's 30: no spurious sign flips far
    from the surface), read from the task's hint; other models take nothing from it, and --first-omega-0 overrides
    it (explicit options win over hints)."""
    task, _ = _task(Sphere(0.5))
    assert FIRST_FREQUENCY == 5.0 and task.model_hints() == {"first_omega_0": 5.0}
    assert build_model("siren", 3, 1, hints=task.model_hints()).spec["options"] == {"first_omega_0": 5.0}
    assert build_model("siren", 3, 1, hints=task.model_hints(), first_omega_0=30.0).spec["options"] == {
        "first_omega_0": 30.0}
    assert build_model("relu", 3, 1, hints=task.model_hints()).spec["options"] == {}
    assert build_model("relu_pe", 3, 1, hints=task.model_hints()).spec["options"] == {}


def test_no_normals_drops_the_normal_term():
    task, _ = _task(Sphere(0.5), use_normals=False)
    assert "normal" not in task.loss(Analytic(Sphere(0.5)), 0, torch.Generator())


def test_cli_run_and_mesh_command_write_meshes_in_input_units(tmp_path):
    """A cloud far from the origin and large: the mesh comes back in its units (bbox matches the points')."""
    pts, normals = sample_surface(Sphere(1.0), 3000, seed=0)
    pts = pts * 40.0 + np.array([100.0, -5.0, 7.0])
    np.savetxt(tmp_path / "ball.xyz", np.hstack([pts, normals]))
    out = tmp_path / "run"
    assert main(["sdf", str(tmp_path / "ball.xyz"), "--steps", "150", "--lr", "1e-3", "--hidden-features", "32",
                 "--hidden-layers", "2", "--batch", "1000", "--resolution", "48", "--no-progress", "--out",
                 str(out)]) == 0
    mesh = trimesh.load(out / "mesh.ply")
    assert np.allclose(mesh.bounds, [pts.min(0), pts.max(0)], atol=0.1 * 80)
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["chamfer"] < 0.05 and metrics["normal_consistency"] > 0.8
    assert main(["mesh", str(out), "--resolution", "40", "--out", str(tmp_path / "m.obj")]) == 0
    assert np.allclose(trimesh.load(tmp_path / "m.obj").bounds, mesh.bounds, atol=0.05 * 80)


def test_pieces_far_from_the_points_are_dropped_and_reported(tmp_path):
    """A field that is the torus's SDF but for a spurious small ball of negative values in a corner of the box, cut
    open by the box (what a learned SDF does far from its data): the written mesh and `siren render`'s mesh of the
    checkpoint lose the ball, the metrics say what went and what the whole mesh scored, and the kept mesh is closed
    (no "not watertight" warning about the dropped piece); --keep-within 0 keeps it."""
    torus = Torus(0.5, 0.2)
    task, cloud = _task(torus, n=4000, resolution=48)
    ball = Sphere(0.12)

    def field(p):                                  # min(torus, ball at (0.9, 0.9, 0.9)), model units
        return torch.minimum(torus(p * cloud.scale + torch.as_tensor(cloud.center)) / cloud.scale, ball(p - 0.9))

    with pytest.warns(UserWarning, match=r"dropped 1 mesh piece\(s\) \(\d+\.\d+% of the area\)") as seen:
        m, _ = task.write_outputs(Analytic(field), tmp_path, [])
    assert not [w for w in seen if "watertight" in str(w.message)] and m["watertight"]
    assert m["pieces_dropped"] == 1 and 0.005 < m["area_dropped"] < 0.1
    assert m["chamfer"] < 0.01 and m["chamfer_all_pieces"] > 1.3 * m["chamfer"]
    mesh = trimesh.load(tmp_path / "mesh.ply")
    far = mesh.vertices - (0.9 * cloud.scale + cloud.center)                 # the ball's centre, input units
    assert np.linalg.norm(far, axis=1).min() > 0.3 and len(mesh.split(only_watertight=False)) == 1
    meta = {**task.meta(), "state": task.state_dict()}
    with pytest.warns(UserWarning, match="dropped 1 mesh piece"):
        SDFTask.render(Analytic(field), meta, tmp_path / "render.ply", SDFRender(resolution=40))
    assert len(trimesh.load(tmp_path / "render.ply").split(only_watertight=False)) == 1
    keep_all, _ = _task(torus, n=4000, resolution=48, keep_within=0.0)
    (tmp_path / "all").mkdir()
    with pytest.warns(UserWarning, match="not watertight"):
        assert keep_all.write_outputs(Analytic(field), tmp_path / "all", [])[0]["pieces_dropped"] == 0
    assert len(trimesh.load(tmp_path / "all" / "mesh.ply").split(only_watertight=False)) == 2


def test_a_mesh_over_the_memory_budget_is_made_smaller_or_skipped_and_the_run_goes_on(tmp_path, cli_error, capsys):
    """An untrained WIRE field crosses zero in nearly every cell (its full-size mesh once took 20 GB): with a small
    --mesh-memory the run meshes at the resolution that fits, or writes no mesh, saying so in one warning line and in
    metrics.json, exits 0 and keeps its checkpoint; `siren mesh` over the budget is a one-line error naming the
    resolution that fits."""
    np.savetxt(tmp_path / "ball.xyz", np.hstack(sample_surface(Sphere(0.5), 300, seed=0)))  # scored against these
    tiny = ["sdf", str(tmp_path / "ball.xyz"), "--model", "wire", "--steps", "2", "--batch", "64",
            "--hidden-features", "16", "--resolution", "32", "--no-progress", "--no-report"]
    for gib, out in ((0.01, tmp_path / "smaller"), (1e-4, tmp_path / "none")):
        assert main(tiny + ["--mesh-memory", str(gib), "--out", str(out)]) == 0
        warned = [line for line in capsys.readouterr().err.splitlines() if "mesh memory budget" in line]
        m = json.loads((out / "metrics.json").read_text())["metrics"]
        assert len(warned) == 1 and warned[0] == f"warning: {m['mesh_warning']}" and (out / "checkpoint.pt").is_file()
    smaller = json.loads((tmp_path / "smaller" / "metrics.json").read_text())["metrics"]
    assert 8 <= smaller["resolution"] < 32 and smaller["resolution_asked"] == 32
    assert smaller["mesh_warning"].startswith(f"mesh at {smaller['resolution']}^3 grid points, not 32^3: --resolution "
                                              f"32 ") and (tmp_path / "smaller" / "mesh.ply").is_file()
    none = json.loads((tmp_path / "none" / "metrics.json").read_text())["metrics"]
    assert none["mesh"] is None and none["mesh_warning"].startswith("no mesh written: --resolution 32 would make")
    assert not (tmp_path / "none" / "mesh.ply").exists()
    error = cli_error(["mesh", str(tmp_path / "smaller"), "--resolution", "32", "--mesh-memory", "0.01", "--out",
                       str(tmp_path / "m.ply")])
    assert f"(pass --resolution {smaller['resolution']} or a larger --mesh-memory)" in error
    assert error.startswith("error: --resolution 32 would make a mesh of about") and not (tmp_path / "m.ply").exists()
    assert "--mesh-memory must be a positive number of GiB" in cli_error(tiny + ["--mesh-memory", "0", "--out",
                                                                                  str(tmp_path / "o")])


def test_bad_inputs_are_one_line_errors(tmp_path, cli_error):
    (tmp_path / "bad.xyz").write_text("0 0 0\n1 1 1\nnot a number\n")
    assert "line 3" in cli_error(["sdf", str(tmp_path / "bad.xyz"), "--out", str(tmp_path / "o")])
    np.savetxt(tmp_path / "few.xyz", np.random.rand(5, 3))
    assert "at least 10" in cli_error(["sdf", str(tmp_path / "few.xyz"), "--out", str(tmp_path / "o")])
    (tmp_path / "junk.ply").write_bytes(b"\x00junk" * 20)
    assert "junk.ply" in cli_error(["sdf", str(tmp_path / "junk.ply"), "--out", str(tmp_path / "o")])
    assert "not both" in cli_error(["sdf", "--out", str(tmp_path / "o")])
    assert "checkpoint not found" in cli_error(["mesh", str(tmp_path), "--out", str(tmp_path / "m.ply")])
    assert main(["fit", "image", "--demo", "cameraman", "--size", "8", "--steps", "1", "--hidden-features", "8",
                 "--no-progress", "--out", str(tmp_path / "img")]) == 0
    assert "'fit image' cannot be rendered here (this command renders sdf)" in cli_error(
        ["mesh", str(tmp_path / "img"), "--out", str(tmp_path / "m.ply")])


def test_torus_from_20k_oriented_points_is_recovered(tmp_path):
    """The issue's bar with the task's defaults (SIREN 256 x 3 with first omega_0 5, 500 steps of 5,000 + 5,000
    points, Adam 5e-4 cosine): Chamfer <= 0.005 of the bounding-box diagonal and normal consistency >= 0.95 against
    the exact torus (measured 0.0033 and 0.998; about two minutes on 2 CPU cores)."""
    out = tmp_path / "torus"
    assert main(["sdf", "--demo", "torus", "--points", "20000", "--resolution", "128", "--no-progress",
                 "--no-report", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["chamfer"] <= 0.005 and m["normal_consistency"] >= 0.95, m
