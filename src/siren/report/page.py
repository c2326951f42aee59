"""The report page: runs grouped by task, a card per run, and a comparison of the runs of one task."""
from __future__ import annotations

import json
import os
from datetime import datetime
from importlib import resources
from pathlib import Path

from ..errors import SirenError
from ..runtime import require_writable
from .chart import chart
from .media import MAX_EMBED_BYTES, SHOWN, Media
from .runs import Run, curve, load_run, metric_keys
from .tables import comparison_table, metrics_table
from .text import esc, fmt, size_text


def run_report(run_dir: str | os.PathLike) -> Path:
    """Write run_dir/report.html, the report of that one run; returns its path."""
    return write_report([Path(run_dir)], Path(run_dir) / "report.html")


def write_report(run_dirs: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write one self-contained HTML report of `run_dirs` to `out` (runs grouped by task, compared within a task).
    Returns `out`. A folder that is not a run folder is a SirenError."""
    if not run_dirs:
        raise SirenError("no run folders to report (pass at least one run folder)")
    out = require_writable(out, folder=False)
    runs = [load_run(Path(d)) for d in run_dirs]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_Page(runs, out).render(), encoding="utf-8")
    return out


class _Page:
    """The HTML of one report written to `out`; media are embedded relative to its folder."""

    def __init__(self, runs: list[Run], out: Path):
        self.runs, self.out, self.media = runs, out.resolve(), Media(out.parent)

    def render(self) -> str:
        groups: dict[str, list[tuple[int, Run]]] = {}
        for i, run in enumerate(self.runs):
            groups.setdefault(run.task, []).append((i, run))
        title = (f"{self.runs[0].task}: {self.runs[0].label}" if len(self.runs) == 1
                 else f"{len(self.runs)} runs of {', '.join(groups)}")
        body = [self._group(task, members, g) for g, (task, members) in enumerate(groups.items())]
        toc = "".join(f'<a href="#task-{g}">{esc(task)} <span class="muted">({len(m)})</span></a>'
                      for g, (task, m) in enumerate(groups.items()))
        script = (f"<script>{_asset('viewer.js')}</script>" if self.media.scripts else "")
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<link rel="icon" href="data:,"><title>siren report: {esc(title)}</title>'
                f"<style>{_asset('report.css')}</style></head><body>"
                f'<header class="page"><h1>siren report</h1><div class="muted">{esc(title)} · generated {stamp}</div>'
                f'<nav class="toc">{toc}</nav></header>{"".join(body)}{"".join(self.media.scripts)}'
                f"<footer>Self-contained: every picture, sound, video and mesh is inside this file (files over "
                f"{MAX_EMBED_BYTES / 1e6:g} MB are linked beside it); nothing is fetched from the network."
                f"</footer>{script}</body></html>\n")

    def _group(self, task: str, members: list[tuple[int, Run]], g: int) -> str:
        count = f'{len(members)} run{"s" * (len(members) > 1)}'
        head = f'<h2 id="task-{g}">{esc(task)} <span class="muted">· {count}</span></h2>'
        if len(members) == 1:
            return head + self._run_card(*members[0], alone=True)
        runs = [r for _, r in members]
        parts = [head, '<section class="card"><h3>Comparison</h3>', comparison_table(runs),
                 '<div class="charts" style="margin-top:14px">', *self._overlay_charts(runs), "</div>",
                 *self._side_by_side(members), "</section>"]
        parts += [self._run_card(i, r, alone=False) for i, r in members]
        return "".join(parts)

    def _run_card(self, i: int, run: Run, alone: bool) -> str:
        s = run.summary
        badge = ('<span class="badge interrupted">interrupted</span>' if s.get("interrupted")
                 else '<span class="badge">finished</span>')
        banner = (f'<div class="banner interrupted"><b>Interrupted</b> at step {esc(s.get("steps"))}: the metrics '
                  f"are those of the last log step, and the task's outputs were not written (continue it with "
                  f"<code>--resume</code>).</div>" if s.get("interrupted") else "")
        facts = f'{esc(s.get("steps"))} steps · {fmt(s.get("seconds"))} s · <span class="path">{esc(run.path)}</span>'
        listed = [o for o in run.outputs if o["kind"] not in SHOWN]
        files = f"<h4>Files</h4>{self._file_list(run, listed)}" if listed else ""
        metrics = metrics_table(s.get("metrics") or {})
        if alone:
            shown = "".join(self.media.tile(run, o, i) for o in run.outputs if o["kind"] in SHOWN)
            tiles = f'<div class="tiles">{shown}</div>' if shown else ""
            body = (f'<div class="split"><div>{metrics}</div><div class="charts">{"".join(self._run_charts(run))}'
                    f"</div></div>{tiles}{files}")
        else:  # its curves and outputs are in the comparison above
            body = f'<div class="split"><div>{metrics}</div><div>{files}</div></div>'
        config = (json.dumps(run.config, indent=2, default=str) if run.config is not None
                  else "no config.json in this run folder")
        return (f'<section class="card" id="run-{i}"><div class="card-head"><h3>{esc(run.task)} · '
                f'{esc(s.get("model", "?"))} · {esc(run.path.name)}</h3>{badge}<span class="muted">{facts}</span>'
                f"</div>"
                f"{banner}{body}<details><summary>config.json</summary><pre>{esc(config)}</pre></details></section>")

    def _run_charts(self, run: Run) -> list[str]:
        if not run.history:
            return ['<p class="muted">no log steps recorded (metrics.jsonl is empty or missing)</p>']
        terms = list(run.history[-1].get("weights") or {})
        loss = [("loss", *curve(run.history, "loss"))]
        if len(terms) > 1:  # a single term is the loss itself (up to its weight)
            loss += [(t, *curve(run.history, t)) for t in terms]
        charts = [chart("loss" + (" and raw terms" if len(loss) > 1 else ""), loss, log=True)]
        charts += [chart(m, [(m, *curve(run.history, m))], log=False) for m in metric_keys([run])]
        return charts

    def _overlay_charts(self, runs: list[Run]) -> list[str]:
        keys = ["loss", *metric_keys(runs)]
        return [chart(k, [(r.label, *curve(r.history, k)) for r in runs], log=k == "loss") for k in keys]

    def _side_by_side(self, members: list[tuple[int, Run]]) -> list[str]:
        paths: dict[str, str] = {}
        for _, run in members:
            for o in run.outputs:
                if o["kind"] in SHOWN:
                    paths.setdefault(o["path"], o["kind"])
        parts = []
        for path, kind in paths.items():
            cells = []
            for i, run in members:
                match = next((o for o in run.outputs if o["path"] == path), None)
                inner = (self.media.tile(run, match, i) if match is not None
                         else '<p class="muted">not written by this run</p>')
                cells.append(f'<div><div class="who">{esc(run.label)}</div>{inner}</div>')
            parts.append(f'<h4><span class="path">{esc(path)}</span> · {esc(kind)}</h4>'
                         f'<div class="compare" style="--cols:{min(len(members), 4)}">{"".join(cells)}</div>')
        return parts

    def _file_list(self, run: Run, outputs: list[dict]) -> str:
        items = []
        for o in outputs:
            path = run.path / o["path"]
            size = ("this page" if path.resolve() == self.out else size_text(path.stat().st_size) if path.is_file()
                    else "missing")
            items.append(f'<li><span class="kind">{esc(o["kind"])}</span><a class="path" '
                         f'href="{self.media.href(path)}">{esc(o["path"])}</a> <span class="muted">({size}) '
                         f'{esc(o.get("caption", ""))}</span></li>')
        return f'<ul class="files">{"".join(items)}</ul>'


def _asset(name: str) -> str:
    return resources.files("siren").joinpath("report_assets").joinpath(name).read_text(encoding="utf-8")
