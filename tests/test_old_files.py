"""Files written by siren 0.2.0 (tests/data/v0_2_0, made by that release's CLI: a fit image run with
--first-omega 20, a meta-train run, a .sirz file, and what that release rendered and decoded from them) still load
after the renames: siren.load, siren render, --resume, --init, siren decompress, bit for bit where the arithmetic is
unchanged."""
import json
import shutil
from pathlib import Path

import numpy as np

import siren
from siren.cli import main
from siren.data.image import load_image

OLD = Path(__file__).parent / "data" / "v0_2_0"
QUIET = ["--no-progress", "--no-report"]


def test_an_old_fit_loads_renders_and_resumes(tmp_path):
    fitted = siren.load(OLD / "fit")
    assert fitted.kind == "image" and fitted.model.spec["options"]["first_omega_0"] == 20.0
    assert main(["render", str(OLD / "fit"), "--size", "20", "--out", str(tmp_path / "r.png")]) == 0
    assert np.array_equal(load_image(tmp_path / "r.png"), load_image(OLD / "old_render.png"))
    run = tmp_path / "fit"
    shutil.copytree(OLD / "fit", run)
    assert main(["fit", "image", "--demo", "astronaut", "--size", "12", "--steps", "6", "--hidden-features", "8",
                 "--hidden-layers", "1", "--first-omega", "20", "--resume", *QUIET, "--out", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["steps"] == 6


def test_an_old_learned_init_and_an_old_sirz(tmp_path):
    assert main(["fit", "image", "--demo", "astronaut", "--size", "8", "--steps", "1", "--init", str(OLD / "meta"),
                 *QUIET, "--out", str(tmp_path / "init")]) == 0
    assert json.loads((tmp_path / "init" / "config.json").read_text())["model"]["options"]["hidden_features"] == 8
    assert main(["decompress", str(OLD / "old.sirz"), "--out", str(tmp_path / "d.png")]) == 0
    assert np.array_equal(load_image(tmp_path / "d.png"), load_image(OLD / "old_decoded.png"))
