"""Run folders read for the report: metrics.json, outputs.json, config.json, metrics.jsonl; their curves and goals."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import SirenError
from .text import is_number

MAX_CURVE_POINTS = 1000
GOALS = ("max", "min")


@dataclass
class Run:
    """One run folder, read: metrics.json (`summary`), config.json, metrics.jsonl (`history`), outputs.json."""
    path: Path
    summary: dict
    config: dict | None
    history: list
    outputs: list

    @property
    def task(self) -> str:
        return str(self.summary.get("task") or "unknown task")

    @property
    def label(self) -> str:
        return f"{self.summary.get('model', '?')} · {self.path.name}"

    @property
    def goals(self) -> dict[str, str]:
        """metrics.json's "goals": metric name -> "max" or "min" where the better direction is known ({} in
        folders written before goals were recorded)."""
        goals = self.summary.get("goals")
        return {k: g for k, g in goals.items() if g in GOALS} if isinstance(goals, dict) else {}


def load_run(path: Path) -> Run:
    """The run folder at `path`; SirenError when it is not one (missing or unreadable metrics.json/outputs.json)."""
    if not path.is_dir():
        raise SirenError(f"{path} is not a run folder: no such folder")
    missing = [n for n in ("metrics.json", "outputs.json") if not (path / n).is_file()]
    if missing:
        raise SirenError(f"{path} is not a run folder: {' and '.join(missing)} missing (pass the --out folder of a "
                         f"finished or interrupted run)")
    summary, outputs = _read_json(path / "metrics.json"), _read_json(path / "outputs.json")
    if not isinstance(summary, dict) or not isinstance(outputs, list) or \
            not all(isinstance(o, dict) and "path" in o and "kind" in o for o in outputs):
        raise SirenError(f"{path} is not a run folder: metrics.json or outputs.json does not have the run schema")
    config = _read_json(path / "config.json") if (path / "config.json").is_file() else None
    history = []
    if (path / "metrics.jsonl").is_file():
        for n, line in enumerate((path / "metrics.jsonl").read_text().splitlines(), 1):
            if line.strip():
                try:
                    history.append(json.loads(line))
                except json.JSONDecodeError:
                    raise SirenError(f"cannot read {path / 'metrics.jsonl'}: line {n} is not JSON") from None
    return Run(path, summary, config, history, outputs)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SirenError(f"cannot read {path}: not valid JSON") from None


def goals(runs: list[Run]) -> dict[str, str]:
    """The runs' goals together, metric name -> "max" or "min" (one task's runs agree; a metric on which they do not
    gets none)."""
    seen: dict[str, set] = {}
    for run in runs:
        for name, goal in run.goals.items():
            seen.setdefault(name, set()).add(goal)
    return {name: goal.pop() for name, goal in seen.items() if len(goal) == 1}


def metric_keys(runs: list[Run]) -> list[str]:
    """Task metrics logged in metrics.jsonl: numeric keys other than step, loss, time and the raw loss terms."""
    keys: dict[str, None] = {}
    for run in runs:
        for record in run.history:
            skip = {"step", "loss", "time", "weights", *(record.get("weights") or {})}
            keys.update((k, None) for k, v in record.items() if k not in skip and is_number(v))
    return list(keys)


def curve(history: list, key: str) -> tuple[list, list]:
    """(steps, values) of `key`, at most MAX_CURVE_POINTS of them (evenly thinned, the last one kept)."""
    points = [(r.get("step", n), r[key]) for n, r in enumerate(history) if is_number(r.get(key))]
    stride = math.ceil(len(points) / MAX_CURVE_POINTS) if points else 1
    points = points[::-1][::stride][::-1]
    return [p[0] for p in points], [p[1] for p in points]
