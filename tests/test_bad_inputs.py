"""The last bad inputs. Each gives one line `error: ...` and exit code 2 before any work (sizes
that cannot fit in memory, wavenumbers the grid cannot resolve, unwritable outputs); negative coordinates parse as
written; the run folder is strict JSON; a resume logs each step once; progress off a terminal is a line per log
step."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from siren.cli import main, parse
from siren.run_folder import to_json, write_metrics

TINY = ["--hidden-features", "8", "--hidden-layers", "1", "--no-progress", "--no-report"]
BIG = "100000000000"              # points: about 400 TB at a few kB each

pytestmark = pytest.mark.usefixtures("one_thread")


def strict(text: str):
    """json.loads that rejects NaN and infinities, as JSON.parse does."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "img.png"
    iio.imwrite(path, (np.arange(12 * 16).reshape(12, 16) % 251).astype(np.uint8))
    return path


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A 2-step image fit (render, report and JSON tests use it)."""
    folder = tmp_path_factory.mktemp("run")
    iio.imwrite(folder / "img.png", (np.arange(12 * 16).reshape(12, 16) % 251).astype(np.uint8))
    assert main(["fit", "image", str(folder / "img.png"), "--steps", "2", "--out", str(folder / "run"),
                 *TINY[:-1]]) == 0
    return folder / "run"


@pytest.mark.parametrize("argv,says", [
    # sizes that cannot fit in memory: refused before allocating, with the largest that fits
    (["fit", "image", "--demo", "cameraman", "--size", "100000"], "--size 100000 needs about"),
    (["poisson", "--demo", "cameraman", "--size", "100000"], "pass at most"),
    (["edit", "moon", "moon", "--scale", "1e6"], "--scale 1e+06 needs about"),
    (["sdf", "--demo", "sphere", "--points", BIG], "--points"),
    (["sdf", "--demo", "sphere", "--batch", BIG], "--batch"),
    (["sdf", "--demo", "sphere", "--resolution", "100000"], "--resolution 100000 needs about"),
    (["helmholtz", "--n", "100000"], "--n 100000 needs about"),
    (["helmholtz", "--n", "41", "--k", "6", "--batch", BIG], "--batch"),
    (["wave", "--n", "1000000"], "--n 1000000 needs about"),
    (["wave", "--n", "16", "--solver-points", "1000000"], "--solver-points 1000000 needs about"),
    (["wave", "--n", "16", "--batch", BIG], "--batch"),
    (["fwi", "--n", "33", "--k", "6", "--baseline-n", "100000"], "--baseline-n 100000 needs about"),
    (["fwi", "--n", "33", "--k", "6", "--baseline-n", "33", "--pool", BIG], "--pool"),
    # wavenumbers and widths the grids cannot resolve
    (["helmholtz", "--k", "1e9", "--n", "41"], "--k 1e+09 is not resolved by the grid"),
    (["fwi", "--k", "1e4"], "--k 10000 is not resolved"),
    (["wave", "--n", "16", "--sigma", "1e-6", "--solver-points", "32"], "--sigma 1e-06 is not resolved"),
    # numbers that are not numbers
    (["edit", "moon", "moon", "--at", "nan,nan"], "--at takes CY,CX"),
    (["fit", "image", "--demo", "cameraman", "--lr", "inf"], "learning rate must be a positive number"),
    (["fit", "image", "--demo", "cameraman", "--target", "nan"], "target must be a finite number"),
    (["fit", "image", "--demo", "cameraman", "--clip-grad", "inf"], "clipping norm must be positive"),
    (["helmholtz", "--k", "-inf"], "--k must be a positive number"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, cli_error, argv, says):
    line = cli_error([*argv, "--steps", "1", *TINY, "--out", str(tmp_path / "o")])
    assert says in line, line
    assert not (tmp_path / "o").exists()              # nothing half-written


@pytest.mark.parametrize("flag,value,says", [
    ("--hidden-features", "0", "--hidden-features must be at least 1"),
    ("--hidden-layers", "-1", "--hidden-layers must be at least 0"),
    ("--first-omega-0", "1e30", "--first-omega-0 must be a positive number"),
    ("--hidden-omega-0", "nan", "--hidden-omega-0 must be a positive number"),
    ("--first-omega-0", "-30", "--first-omega-0 must be a positive number"),
])
def test_network_options_out_of_range(tmp_path, cli_error, flag, value, says):
    line = cli_error(["fit", "image", "--demo", "cameraman", "--steps", "1", flag, value, "--out", str(tmp_path / "o")])
    assert says in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["image", "audio", "video"])
def test_non_finite_signals_are_refused_before_any_work(tmp_path, cli_error, kind):
    """A NaN in a float TIFF, a float WAV or a .npy clip: one line naming the file, and no run folder (a video
    with NaN once trained to PSNR 7.97)."""
    from scipy.io import wavfile
    values = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    values[1, 2, 3] = np.nan
    path = tmp_path / {"image": "img.tiff", "audio": "clip.wav", "video": "clip.npy"}[kind]
    if kind == "image":
        iio.imwrite(path, values[1])
    elif kind == "audio":
        wavfile.write(path, 8000, values.reshape(-1))
    else:
        np.save(path, values)
    line = cli_error(["fit", kind, str(path), "--steps", "1", *TINY, "--out", str(tmp_path / "o")])
    assert f"{path} contains" in line and "NaN or infinite" in line and "(fix the file)" in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("out", ["file.txt/run", "file.txt"])
def test_unwritable_out_of_a_run(tmp_path, png, cli_error, out):
    (tmp_path / "file.txt").write_text("keep")
    line = cli_error(["fit", "image", str(png), "--steps", "1", *TINY, "--out", str(tmp_path / out)])
    assert "cannot write the output folder" in line and "choose another --out" in line
    assert (tmp_path / "file.txt").read_text() == "keep"


@pytest.mark.parametrize("argv,says", [
    (["render", "{run}", "--size", "100000", "--out", "{tmp}/big.png"], "--size 100000 needs about"),
    (["render", "{run}", "--size", "8", "--out", "{tmp}/file.txt/x.png"], "cannot write the output file"),
    (["render", "{run}", "--size", "8", "--out", "{tmp}"], "it is a folder"),
    (["report", "{run}", "--out", "{tmp}/file.txt/r.html"], "cannot write the output file"),
    (["stats", "--out", "{tmp}/file.txt/s"], "cannot write the output folder"),
    (["prior", "interpolate", "{run}", "a.png", "b.png", "--out", "{tmp}/file.txt/x.png"], "cannot write the output"),
])
def test_commands_that_do_not_train(tmp_path, image_run, cli_error, argv, says):
    (tmp_path / "file.txt").write_text("keep")
    line = cli_error([a.format(run=image_run, tmp=tmp_path) for a in argv])
    assert says in line, line


@pytest.mark.parametrize("argv,dest,value", [
    (["wave", "--source", "-0.4,0"], "source", "-0.4,0"),
    (["wave", "--source", "-0.4,-0.25", "--speed", "-1"], "source", "-0.4,-0.25"),
    (["helmholtz", "--source", "-.3,-1e-1"], "source", "-.3,-1e-1"),
    (["edit", "a.png", "b.png", "--at", "-0.2,0.5"], "at", "-0.2,0.5"),
    (["fit", "image", "x.png", "--seed", "-1"], "seed", -1),
    (["helmholtz", "--k", "-1e-3"], "k", -1e-3),
    (["helmholtz", "--k", "-inf"], "k", -math.inf),
])
def test_negative_values_parse_as_written(argv, dest, value):
    assert getattr(parse([*argv, "--out", "o"]), dest) == value


def test_wave_with_a_negative_source_runs(tmp_path):
    args = ["wave", "--source", "-0.4,0", "--n", "12", "--batch", "64", "--ic-points", "32", "--pretrain", "1",
            "--duration", "0.3", "--solver-points", "48", "--steps", "1", *TINY, "--out", str(tmp_path / "w")]
    assert main(args) == 0
    assert strict((tmp_path / "w" / "config.json").read_text())["task"]["source"] == [-0.4, 0.0]


def test_every_json_file_of_a_run_is_strict(image_run, tmp_path):
    files = [p for p in image_run.iterdir() if p.suffix in (".json", ".jsonl")]
    assert {p.name for p in files} >= {"config.json", "metrics.json", "outputs.json", "metrics.jsonl"}
    for path in files:
        for line in (path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]):
            strict(line)
    summary = write_metrics(tmp_path, "t", "m", 1, 0.5, False, {"rel_l2": float("nan"), "snr": np.float32(np.inf),
                                                                "list": [1.0, -math.inf]}, {"rel_l2": "min"})
    assert math.isnan(summary["metrics"]["rel_l2"])                       # the caller still sees the number
    assert strict((tmp_path / "metrics.json").read_text())["metrics"] == {"rel_l2": None, "snr": None,
                                                                          "list": [1.0, None]}
    assert to_json({"a": (np.float64(2.5), float("nan"))}) == '{"a": [2.5, null]}'


KILL_AT_STEP_5 = """
import os, signal, sys
import siren.train as t
reached = t.reached
def kill(task, record, target):
    if record["step"] == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return reached(task, record, target)
t.reached = kill
from siren.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_9_and_resume_log_each_step_once(tmp_path, png):
    out = tmp_path / "run"
    args = ["fit", "image", str(png), "--log-every", "1", "--checkpoint-every", "3", *TINY, "--out", str(out)]
    child = subprocess.run([sys.executable, "-c", KILL_AT_STEP_5, *args, "--steps", "8"], capture_output=True,
                           text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert child.returncode == -9, child.stderr
    assert [strict(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]
    with open(out / "metrics.jsonl", "a") as log:           # and a line cut short by the kill
        log.write('{"step": 6, "lo')
    assert main([*args, "--steps", "8", "--resume"]) == 0
    steps = [strict(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))


def test_progress_off_a_terminal_is_a_line_per_log_step(tmp_path, png, capsys):
    assert main(["fit", "image", str(png), "--steps", "6", "--log-every", "2", "--hidden-features", "8",
                 "--hidden-layers", "1", "--no-report", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [line.split(":")[0] for line in err.splitlines()] == ["step 2/6", "step 4/6", "step 6/6"]
