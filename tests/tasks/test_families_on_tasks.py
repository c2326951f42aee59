"""Every network family on every training task through the CLI (1 step on the task's tiny example input): a family
plugs in through the registry and the task's hints, with no task naming it."""
from __future__ import annotations

import json

import pytest

from siren.cli import main
from siren.models import MODEL_NAMES
from siren.tasks import REGISTRY

FAMILIES = ("finer", "gauss", "wire", "hashgrid")
TINY = ["--hidden-features", "8", "--hidden-layers", "1", "--steps", "1", "--log-every", "1", "--no-progress",
        "--no-report"]
TASKS = sorted(n for n, t in REGISTRY.items() if t.model_kind == "coordinates")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", TASKS)
def test_every_family_trains_on_every_task(name, family, tmp_path):
    task = REGISTRY[name]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    out = tmp_path / "run"
    assert main([*name.split(), *task.example_args(inputs), *TINY, "--model", family, "--out", str(out)]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["model"] == family and summary["steps"] == 1 and summary["metrics"]
    assert json.loads((out / "config.json").read_text())["model"]["name"] == family


def test_families_are_offered_and_bad_choices_are_one_line_errors(tmp_path, cli_error):
    assert set(FAMILIES) <= set(MODEL_NAMES)
    out = ["--out", str(tmp_path / "o")]
    assert "--model 'fourier' is not a registered model" in cli_error(["fit", "image", "--demo", "cameraman", "--model", "fourier", *out])
    assert "--first-omega-0 does not apply to the model gauss" in cli_error(
        ["fit", "image", "--demo", "cameraman", "--model", "gauss", "--first-omega-0", "10", *out])
    folder = tmp_path / "imgs"
    folder.mkdir()
    from skimage import data

    from siren.data.image import save_image
    save_image(folder / "a.png", data.camera()[:16, :16] / 255.0)
    assert "unknown model 'finer' of kind batched" in cli_error(["fit", "image", str(folder), "--model", "finer", *out])
