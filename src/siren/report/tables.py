"""The report's tables: one run's final metrics, and the runs of a task compared with the best value marked."""
from __future__ import annotations

import json
import math

import numpy as np

from .runs import Run, goals
from .text import esc, fmt, is_number


def comparison_table(runs: list[Run]) -> str:
    """One row per run: model, steps, seconds and every scalar metric. Per column, the best value (the largest for
    a goal "max", the smallest for "min", from the runs' metrics.json) is marked (class "best", bold) where the
    values differ; a column without a goal is not marked."""
    keys: dict[str, None] = {}
    for run in runs:
        keys.update((k, None) for k, v in (run.summary.get("metrics") or {}).items()
                    if isinstance(v, (int, float, str, bool)))
    columns = ["steps", "seconds", *keys]
    rows = [[run.summary.get(c) if c in ("steps", "seconds") else (run.summary.get("metrics") or {}).get(c)
             for c in columns] for run in runs]
    goal, best = goals(runs), {}
    for c, name in enumerate(columns):
        values = [row[c] for row in rows if is_number(row[c]) and math.isfinite(row[c])]
        if name in goal and len(set(values)) > 1:
            best[c] = max(values) if goal[name] == "max" else min(values)
    head = "".join(f"<th>{esc(c)}</th>" for c in ["run", "model", *columns])
    body = []
    for run, row in zip(runs, rows):
        cells = []
        for c, v in enumerate(row):
            mark = " best" if c in best and v == best[c] else ""
            cells.append(f'<td class="num{mark}">{fmt(v)}</td>' if is_number(v) else f"<td>{fmt(v)}</td>")
        flag = ' <span class="badge interrupted">interrupted</span>' if run.summary.get("interrupted") else ""
        body.append(f'<tr><td><span class="path">{esc(run.path.name)}</span>{flag}</td>'
                    f'<td>{esc(run.summary.get("model", "?"))}</td>{"".join(cells)}</tr>')
    return f'<div class="table-wrap"><table class="comparison"><tr>{head}</tr>{"".join(body)}</table></div>'


def metrics_table(metrics: dict) -> str:
    """metrics.json's "metrics" of one run, a row each."""
    if not metrics:
        return '<p class="muted">no final metrics</p>'
    rows = []
    for k, v in metrics.items():
        cell = f'<td class="num">{fmt(v)}</td>' if is_number(v) else f"<td>{_summary(v)}</td>"
        rows.append(f"<tr><th>{esc(k)}</th>{cell}</tr>")
    return f'<table class="metrics">{"".join(rows)}</table>'


def _summary(value) -> str:
    """A metric that is not a number: lists of numbers as mean, min, max and count; other values shortened."""
    if isinstance(value, list) and value and all(is_number(v) for v in value):
        a = np.asarray(value, dtype=float)
        return (f"mean {fmt(float(np.nanmean(a)))} · min {fmt(float(np.nanmin(a)))} · "
                f"max {fmt(float(np.nanmax(a)))} <span class=\"muted\">({len(a)} values)</span>")
    if isinstance(value, (list, dict)):
        text = json.dumps(value, default=str)
        return f'<span class="path">{esc(text[:120] + ("…" if len(text) > 120 else ""))}</span>'
    return esc(value)
