"""Every registered task, smoke-trained through the CLI for 2 steps on a tiny input: its run folder, metrics.json
and outputs.json follow the contract. A new task is covered by registering it."""
from __future__ import annotations

import json

import pytest

import ast
import subprocess
import sys
from pathlib import Path

import siren.tasks
from siren.cli import build_parser, main
from siren.models import KINDS, MODEL_NAMES, REGISTRIES
from siren.tasks import OUTPUT_KINDS, REGISTRY

TINY = ["--hidden-features", "8", "--hidden-layers", "1", "--steps", "2", "--log-every", "1", "--no-progress"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_task_runs_two_steps_and_lists_its_files(name, tmp_path):
    task = REGISTRY[name]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    out = tmp_path / "run"
    assert main([*name.split(), *task.example_args(inputs), *TINY, "--out", str(out)]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert {"task", "model", "steps", "seconds", "interrupted", "metrics", "goals"} == set(summary)
    assert summary["goals"] and set(summary["goals"].values()) <= {"max", "min"}    # the report marks the best
    assert all(isinstance(summary["metrics"][k], (int, float)) for k in summary["goals"])
    model = json.loads((out / "config.json").read_text())["model"]["name"]      # siren, or a prior's model
    assert summary["task"] == name and summary["model"] == model and summary["steps"] == 2
    assert summary["interrupted"] is False and summary["seconds"] > 0 and summary["metrics"]
    assert task.metric_name in json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    manifest = json.loads((out / "outputs.json").read_text())
    listed = {entry["path"] for entry in manifest}
    assert all(entry["kind"] in OUTPUT_KINDS and entry["caption"] for entry in manifest)
    assert all((out / path).is_file() for path in listed)
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == listed                                    # every file the run wrote is listed, and only those
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "metrics.json", "outputs.json"} <= listed
    assert any(entry["kind"] not in ("log", "checkpoint", "table") for entry in manifest)   # something to look at


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_cli_flags_come_from_the_task_config(name):
    task = REGISTRY[name]
    args = build_parser().parse_args([*name.split(), "--out", "x"])
    config = task.Config()
    for field, value in vars(config).items():
        assert getattr(args, field) == value                   # one place for each default: the dataclass
    assert args.steps == task.train_defaults.get("steps", 500)


def test_the_training_engine_imports_no_task():
    code = "import siren.train, siren.launch, siren.run_folder, sys; print([m for m in sys.modules if m.startswith('siren.tasks')])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_no_task_names_a_model_family_or_imports_the_engine():
    """Tasks publish hints; families read them. No string literal in a task module is a registry name, and no task
    imports the training loop or the launcher."""
    names = {n for registry in REGISTRIES.values() for n in registry}
    for path in Path(siren.tasks.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not literals & names, f"{path.name} names {literals & names}"
        imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imports & {"train", "launch"}, path.name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_task_declares_its_kind_and_the_goal_of_its_progress_metric(name):
    task = REGISTRY[name]
    assert task.model_kind in KINDS
    assert any(task.metric_name == g or task.metric_name.startswith(g + "_") for g in task.goals)
    assert set(task.goals.values()) <= {"max", "min", None}
    assert "siren" in MODEL_NAMES
