"""Issue 37: networks that leave the library. safetensors weights with their spec load with `siren.load_model` in a
process that never imports the tasks or the training loop; ONNX models and torch.export programs of siren, finer,
gauss and wire networks with 1 to 3 inputs give PyTorch's value, gradient and Laplacian (to 1e-5 of each output's
largest value); checkpoints holding pickled objects of foreign classes are refused without running them; bad
export requests are one line, exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import siren
from siren.cli import main
from siren.diff import derivatives
from siren.diff.request import Request
from siren.errors import SirenError
from siren.export import export_onnx, export_program, parse_derivatives
from siren.models import build_model
from siren.portable import load_model, read_metadata, save_weights
from siren.run_folder import load_checkpoint, save_checkpoint

TINY = ["--hidden-features", "8", "--hidden-layers", "1", "--no-progress", "--no-report"]
TOLERANCE = 1e-5

pytestmark = pytest.mark.usefixtures("one_thread")


def relative(got, want) -> float:
    """max |got - want| / max |want|."""
    want = np.asarray(want, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())


def torch_outputs(model, x, request: Request) -> list:
    """PyTorch's value and derivatives (`siren.diff.derivatives`) in the order of `siren.export.output_names`."""
    d = derivatives(model, x, request)
    out = [d.value] + ([d.gradient] if request.gradient else []) + [d.laplacian(g) for g in request.groups]
    out += [d.hessian_diagonal] if request.hessian_diagonal else []
    return [t.detach().numpy() for t in out]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny fit image run."""
    run = tmp_path_factory.mktemp("export") / "run"
    assert main(["fit", "image", "--demo", "cameraman", "--size", "12", "--steps", "3", *TINY, "--out",
                 str(run)]) == 0
    return run


def _checkpoint(folder, model, task: dict):
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "checkpoint.pt", {"model": model.state_dict(), "spec": model.spec, "step": 0,
                                               "task": task})
    return folder


@pytest.mark.parametrize("family", ["siren", "finer", "gauss", "wire"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_onnx_and_exported_programs_give_pytorchs_value_gradient_and_laplacian(family, d, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = build_model(family, d, 2, hidden_features=16, hidden_layers=2)
    request = parse_derivatives("gradient,laplacian")
    export_onnx(model, tmp_path / "net.onnx", request)
    export_program(model, tmp_path / "net.pt2", request)
    x = torch.rand(37, d) * 2 - 1                         # another batch size than the export's example
    want = torch_outputs(model, x, request)
    session = ort.InferenceSession(str(tmp_path / "net.onnx"))
    assert [o.name for o in session.get_outputs()] == ["value", "gradient", "laplacian"]
    got = session.run(None, {"coords": x.numpy()})
    program = torch.export.load(str(tmp_path / "net.pt2")).module()
    with torch.no_grad():
        got_program = [t.numpy() for t in program(x)]
    for name, w, a, b in zip(("value", "gradient", "laplacian"), want, got, got_program):
        assert a.shape == w.shape and b.shape == w.shape
        assert relative(a, w) < TOLERANCE, (name, relative(a, w))
        assert relative(b, w) < TOLERANCE, (name, relative(b, w))


def test_hessian_diagonal_and_laplacians_over_axis_groups(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = build_model("siren", 3, 1, hidden_features=16, hidden_layers=1)
    request = parse_derivatives("laplacian:1+2,hessian_diagonal")
    export_onnx(model, tmp_path / "net.onnx", request, meta={"note": "x"})
    session = ort.InferenceSession(str(tmp_path / "net.onnx"))
    assert [o.name for o in session.get_outputs()] == ["value", "laplacian_1_2", "hessian_diagonal"]
    x = torch.rand(1, 3) * 2 - 1                          # a batch of one point
    for a, w in zip(session.run(None, {"coords": x.numpy()}), torch_outputs(model, x, request)):
        assert relative(a, w) < TOLERANCE
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "net.onnx")).metadata_props}
    assert json.loads(meta["siren"]) == {"note": "x", "outputs": ["value", "laplacian_1_2", "hessian_diagonal"]}


def test_the_cli_exports_a_run_in_three_formats(fitted, tmp_path):
    assert main(["export", str(fitted), "--out", str(tmp_path / "net.safetensors")]) == 0
    meta = read_metadata(tmp_path / "net.safetensors")
    assert meta["spec"]["name"] == "siren" and meta["task"]["task"] == "fit image"
    assert "2 v - 1" in meta["conventions"]["output"] and "[-1, 1]" in meta["conventions"]["input"]
    from safetensors import safe_open                     # the plain reader sees the same file
    with safe_open(str(tmp_path / "net.safetensors"), "pt") as f:
        assert set(f.keys()) == set(siren.load(fitted).model.state_dict())
    assert main(["export", str(fitted), "--format", "exported", "--derivatives", "gradient", "--out",
                 str(tmp_path / "net.pt2")]) == 0
    extra = {"siren.json": ""}
    program = torch.export.load(str(tmp_path / "net.pt2"), extra_files=extra).module()
    assert json.loads(extra["siren.json"])["outputs"] == ["value", "gradient"]
    x = torch.rand(5, 2) * 2 - 1
    value, gradient = program(x)
    assert gradient.shape == (5, value.shape[1], 2)
    assert relative(value.detach(), siren.load(fitted).model(x).detach()) < TOLERANCE


def test_load_model_in_a_fresh_process_imports_no_task_and_no_training_loop(fitted, tmp_path):
    path = tmp_path / "net.safetensors"
    assert main(["export", str(fitted), "--format", "safetensors", "--out", str(path)]) == 0
    x = torch.linspace(-1, 1, 14).reshape(7, 2)
    want = siren.load(fitted).model(x).detach().numpy()
    code = (f"import sys, json, torch, siren\n"
            f"x = torch.linspace(-1, 1, 14).reshape(7, 2)\n"
            f"outs = [siren.load_model(p)(x).detach().tolist() for p in {[str(path), str(fitted)]!r}]\n"
            f"print(json.dumps({{'outs': outs, 'modules': [m for m in ('siren.tasks', 'siren.train', 'siren.launch',"
            f" 'siren.api') if m in sys.modules]}}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["modules"] == []
    for out in result["outs"]:
        assert np.array_equal(np.asarray(out, np.float32), want)
    model = load_model(fitted / "checkpoint.pt")
    assert not model.training and model.meta["spec"] == model.spec


def test_save_weights_round_trips_every_coordinate_family(tmp_path):
    for name in ("siren", "finer", "gauss", "wire", "relu_pe", "rff", "hashgrid"):
        model = build_model(name, 2, 3, hidden_features=8, hidden_layers=1)
        save_weights(model, tmp_path / f"{name}.safetensors", {"task": "none"})
        again = load_model(tmp_path / f"{name}.safetensors")
        x = torch.rand(6, 2) * 2 - 1
        assert torch.equal(again(x), model(x)), name
        assert again.meta["conventions"] == {"input": "see task", "output": "see task"}


class Foreign:
    """A class of this test file: only running its module could rebuild it."""


class Planted:
    """A foreign class: unpickling it would run its __reduce__."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_with_a_pickled_foreign_object_is_refused_without_running_it(tmp_path, cli_error):
    marker = tmp_path / "ran"
    model = build_model("siren", 2, 1, hidden_features=8, hidden_layers=1)
    torch.save({"model": model.state_dict(), "spec": model.spec, "step": 0, "task": {"task": "fit image"},
                "extra": Planted(str(marker))}, tmp_path / "checkpoint.pt")
    with pytest.raises(SirenError, match=r"pickled \S*open, which only running code"):
        load_checkpoint(tmp_path)
    with pytest.raises(SirenError, match="refused"):
        load_model(tmp_path / "checkpoint.pt")
    assert "refused" in cli_error(["export", str(tmp_path), "--out", str(tmp_path / "n.safetensors")])
    assert "refused" in cli_error(["render", str(tmp_path), "--out", str(tmp_path / "r.png")])
    assert not marker.exists()
    torch.save({"model": model.state_dict(), "spec": model.spec, "step": 0, "extra": Foreign()},
               tmp_path / "foreign.pt")
    with pytest.raises(SirenError, match=r"pickled \S*Foreign"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_a_checkpoint_is_written_as_plain_data_only(tmp_path):
    model = build_model("siren", 2, 1, hidden_features=8, hidden_layers=1)
    with pytest.raises(TypeError, match=r"checkpoint\['task'\]\['scale'\] is a numpy.float64"):
        _checkpoint(tmp_path, model, {"task": "fit audio", "scale": np.float64(0.5)})
    assert not (tmp_path / "checkpoint.pt").exists()


def test_checkpoints_of_the_previous_release_load_as_plain_data():
    from pathlib import Path
    old = Path(__file__).parent / "data" / "v0_2_0"
    for run in ("fit", "meta"):
        assert load_checkpoint(old / run)["step"] > 0
    assert load_model(old / "fit").spec["options"]["first_omega_0"] == 20.0


def test_bad_export_requests_are_one_line(fitted, tmp_path, cli_error):
    batched = build_model("siren", 2, 3, kind="batched", num_signals=2, hidden_features=8, hidden_layers=1)
    _checkpoint(tmp_path / "meta", batched, {"task": "meta train"})
    assert "not one coordinate network" in cli_error(["export", str(tmp_path / "meta"), "--format", "onnx",
                                                      "--out", str(tmp_path / "m.onnx")])
    grid = build_model("siren", 2, 3, hidden_features=8, hidden_layers=1)
    _checkpoint(tmp_path / "folder", grid, {"task": "fit image", "batched": True})
    assert "batch of signals" in cli_error(["export", str(tmp_path / "folder"), "--format", "exported", "--out",
                                            str(tmp_path / "f.pt2")])
    hashgrid = build_model("hashgrid", 2, 1, levels=2, table_size=64, hidden_features=8)
    _checkpoint(tmp_path / "hash", hashgrid, {"task": "fit image"})
    assert "no forward-mode derivative rule" in cli_error(["export", str(tmp_path / "hash"), "--format", "onnx",
                                                           "--derivatives", "gradient", "--out",
                                                           str(tmp_path / "h.onnx")])
    assert main(["export", str(tmp_path / "hash"), "--format", "onnx", "--out", str(tmp_path / "h.onnx")]) == 0
    ort = pytest.importorskip("onnxruntime")                 # its value alone exports
    x = torch.rand(9, 2) * 2 - 1
    got = ort.InferenceSession(str(tmp_path / "h.onnx")).run(None, {"coords": x.numpy()})[0]
    assert relative(got, hashgrid(x).detach().numpy()) < TOLERANCE
    assert "unknown derivative" in cli_error(["export", str(fitted), "--format", "onnx", "--derivatives", "curl",
                                              "--out", str(tmp_path / "c.onnx")])
    assert "do not fit" in cli_error(["export", str(fitted), "--format", "onnx", "--derivatives", "laplacian:5",
                                      "--out", str(tmp_path / "c.onnx")])
    assert "applies to --format onnx" in cli_error(["export", str(fitted), "--derivatives", "gradient", "--out",
                                                    str(tmp_path / "n.safetensors")])
    (tmp_path / "file").write_text("")
    assert "cannot write" in cli_error(["export", str(fitted), "--out", str(tmp_path / "file" / "n.safetensors")])
    assert "checkpoint not found" in cli_error(["export", str(tmp_path / "nothing"), "--out",
                                                str(tmp_path / "n.safetensors")])
    with pytest.raises(SirenError, match="no siren network"):
        from safetensors.torch import save_file
        save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
        load_model(tmp_path / "plain.safetensors")
