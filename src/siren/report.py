"""HTML reports of run folders: one self-contained page per run, or one page that compares runs.

    write_report([run_a, run_b], Path("report.html"))   # runs grouped by task, side by side within a task
    run_report(run_dir)                                  # run_dir/report.html

A run folder is what `siren.train.run` writes (see `siren.tasks.base`): metrics.json and outputs.json are required,
config.json and metrics.jsonl are shown when present. The page never hard-codes a task's file names: every output
of outputs.json is shown by its kind:

    image, figure   <img>, the PNG (or JPEG/GIF/WebP/SVG) embedded as a base64 data: URI
    audio           <audio controls>, WAV/FLAC/OGG/MP3 embedded
    video           <video controls>, MP4/WebM embedded
    mesh            an interactive <canvas> viewer (report_assets/viewer.js, inline): the mesh (read with trimesh)
                    embedded as JSON, decimated by vertex clustering to at most MAX_MESH_FACES faces
    field, table, checkpoint, log   listed with their captions and sizes (linked by relative path, not embedded)

Nothing is fetched from the network when the page is opened: no CDN, no web fonts, CSS and JavaScript inline.
Size guard: a media file larger than MAX_EMBED_BYTES is not embedded but referenced by its path relative to the
report (so the page still shows it while the run folder sits beside the report).

Several runs of one task get a comparison table (best value per column in bold where the metric has a direction:
psnr/ssim/snr/score/consistency/iou/accuracy higher, mse/mae/loss/error/chamfer/distance/seconds lower), loss
and metric curves of every run in one chart, and the outputs side by side, one row per output path.
"""
from __future__ import annotations

import base64
import html
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .errors import SirenError

__all__ = ["write_report", "run_report", "MAX_EMBED_BYTES", "MAX_MESH_FACES"]

MAX_EMBED_BYTES = 20_000_000
MAX_MESH_FACES = 20_000
MAX_CURVE_POINTS = 1000
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
        ".svg": "image/svg+xml", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
        ".mp3": "audio/mpeg", ".mp4": "video/mp4", ".webm": "video/webm"}
SHOWN = ("image", "figure", "audio", "video", "mesh")
HIGHER = {"psnr", "ssim", "snr", "score", "consistency", "iou", "accuracy"}
LOWER = {"mse", "mae", "rmse", "loss", "error", "chamfer", "hausdorff", "distance", "seconds"}
PALETTE = ("#2458c6", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4fc9", "#3d8fb8", "#c2587a", "#5b6470")


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


def run_report(run_dir: str | os.PathLike) -> Path:
    """Write run_dir/report.html, the report of that one run; returns its path."""
    return write_report([Path(run_dir)], Path(run_dir) / "report.html")


def write_report(run_dirs: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write one self-contained HTML report of `run_dirs` to `out` (runs grouped by task, compared within a task).
    Returns `out`. A folder that is not a run folder is a SirenError."""
    if not run_dirs:
        raise SirenError("no run folders to report (pass at least one run folder)")
    runs = [_load_run(Path(d)) for d in run_dirs]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_Page(runs, out.parent).render(), encoding="utf-8")
    return out


def _load_run(path: Path) -> Run:
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


class _Page:
    """The HTML of one report; media are embedded relative to `base` (the report's folder)."""

    def __init__(self, runs: list[Run], base: Path):
        self.runs, self.base, self.meshes = runs, base, []

    def render(self) -> str:
        groups: dict[str, list[tuple[int, Run]]] = {}
        for i, run in enumerate(self.runs):
            groups.setdefault(run.task, []).append((i, run))
        title = (f"{self.runs[0].task}: {self.runs[0].label}" if len(self.runs) == 1
                 else f"{len(self.runs)} runs of {', '.join(groups)}")
        body = [self._group(task, members, g) for g, (task, members) in enumerate(groups.items())]
        toc = "".join(f'<a href="#task-{g}">{_e(task)} <span class="muted">({len(m)})</span></a>'
                      for g, (task, m) in enumerate(groups.items()))
        script = (f"<script>{_asset('viewer.js')}</script>" if self.meshes else "")
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<link rel="icon" href="data:,"><title>siren report: {_e(title)}</title>'
                f"<style>{_asset('report.css')}</style></head><body>"
                f'<header class="page"><h1>siren report</h1><div class="muted">{_e(title)} · generated {stamp}</div>'
                f'<nav class="toc">{toc}</nav></header>{"".join(body)}{"".join(self.meshes)}'
                f"<footer>Self-contained: every picture, sound, video and mesh is inside this file (files over "
                f"{MAX_EMBED_BYTES / 1e6:g} MB are linked beside it); nothing is fetched from the network."
                f"</footer>{script}</body></html>\n")

    def _group(self, task: str, members: list[tuple[int, Run]], g: int) -> str:
        count = f'{len(members)} run{"s" * (len(members) > 1)}'
        head = f'<h2 id="task-{g}">{_e(task)} <span class="muted">· {count}</span></h2>'
        if len(members) == 1:
            return head + self._run_card(*members[0], alone=True)
        runs = [r for _, r in members]
        parts = [head, '<section class="card"><h3>Comparison</h3>', _comparison_table(runs),
                 '<div class="charts" style="margin-top:14px">', *self._overlay_charts(runs), "</div>",
                 *self._side_by_side(members), "</section>"]
        parts += [self._run_card(i, r, alone=False) for i, r in members]
        return "".join(parts)

    def _run_card(self, i: int, run: Run, alone: bool) -> str:
        s = run.summary
        badge = ('<span class="badge interrupted">interrupted</span>' if s.get("interrupted")
                 else '<span class="badge">finished</span>')
        banner = (f'<div class="banner interrupted"><b>Interrupted</b> at step {_e(s.get("steps"))}: the metrics are '
                  f"those of the last log step, and the task's outputs were not written (continue it with "
                  f"<code>--resume</code>).</div>" if s.get("interrupted") else "")
        facts = f'{_e(s.get("steps"))} steps · {_fmt(s.get("seconds"))} s · <span class="path">{_e(run.path)}</span>'
        listed = [o for o in run.outputs if o["kind"] not in SHOWN]
        files = f"<h4>Files</h4>{self._file_list(run, listed)}" if listed else ""
        metrics = _metrics_table(s.get("metrics") or {})
        if alone:
            shown = "".join(self._tile(run, o, i) for o in run.outputs if o["kind"] in SHOWN)
            tiles = f'<div class="tiles">{shown}</div>' if shown else ""
            body = (f'<div class="split"><div>{metrics}</div><div class="charts">{"".join(self._run_charts(run))}'
                    f"</div></div>{tiles}{files}")
        else:  # its curves and outputs are in the comparison above
            body = f'<div class="split"><div>{metrics}</div><div>{files}</div></div>'
        config = (json.dumps(run.config, indent=2, default=str) if run.config is not None
                  else "no config.json in this run folder")
        return (f'<section class="card" id="run-{i}"><div class="card-head"><h3>{_e(run.task)} · '
                f'{_e(s.get("model", "?"))} · {_e(run.path.name)}</h3>{badge}<span class="muted">{facts}</span></div>'
                f"{banner}{body}<details><summary>config.json</summary><pre>{_e(config)}</pre></details></section>")

    def _run_charts(self, run: Run) -> list[str]:
        if not run.history:
            return ['<p class="muted">no log steps recorded (metrics.jsonl is empty or missing)</p>']
        terms = list(run.history[-1].get("weights") or {})
        loss = [("loss", *_curve(run.history, "loss"))]
        if len(terms) > 1:  # a single term is the loss itself (up to its weight)
            loss += [(t, *_curve(run.history, t)) for t in terms]
        charts = [_chart("loss" + (" and raw terms" if len(loss) > 1 else ""), loss, log=True)]
        charts += [_chart(m, [(m, *_curve(run.history, m))], log=False) for m in _metric_keys([run])]
        return charts

    def _overlay_charts(self, runs: list[Run]) -> list[str]:
        keys = ["loss", *_metric_keys(runs)]
        return [_chart(k, [(r.label, *_curve(r.history, k)) for r in runs], log=k == "loss") for k in keys]

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
                inner = (self._tile(run, match, i) if match is not None
                         else '<p class="muted">not written by this run</p>')
                cells.append(f'<div><div class="who">{_e(run.label)}</div>{inner}</div>')
            parts.append(f'<h4><span class="path">{_e(path)}</span> · {_e(kind)}</h4>'
                         f'<div class="compare" style="--cols:{min(len(members), 4)}">{"".join(cells)}</div>')
        return parts

    def _tile(self, run: Run, output: dict, index: int) -> str:
        """<figure> of one output: the embedded media (or a note why not) and its path and caption."""
        kind, path = output["kind"], run.path / output["path"]
        src = self._src(path) if path.is_file() and kind != "mesh" else None
        if not path.is_file():
            media = f'<p class="muted">missing: {_e(output["path"])}</p>'
        elif kind == "mesh":
            media = self._mesh(path, index)
        elif src is None:
            media = f'<p class="muted">not embedded: browsers do not show {_e(path.suffix)} files</p>'
        elif kind == "audio":
            media = f'<audio controls preload="metadata" src="{src}"></audio>'
        elif kind == "video":
            media = f'<video controls loop muted playsinline preload="auto" src="{src}"></video>'
        else:
            width = _png_width(path)
            if kind == "image" and width:  # small pictures enlarged by a whole factor to at least 256 px, crisp
                width *= math.ceil(256 / width)
            size = f' width="{width}"' if width else ""
            media = (f'<img class="{"pixels" if kind == "image" else "figure"}"{size} '
                     f'alt="{_e(output.get("caption", ""))}" src="{src}">')
        return (f'<figure class="tile">{media}<figcaption><span class="path">{_e(output["path"])}</span> · '
                f'{_e(output.get("caption", ""))}</figcaption></figure>')

    def _src(self, path: Path) -> str | None:
        """data: URI of a media file, or its URL relative to the report when larger than MAX_EMBED_BYTES."""
        mime = MIME.get(path.suffix.lower())
        if mime is None:
            return None
        if path.stat().st_size > MAX_EMBED_BYTES:
            return quote(Path(os.path.relpath(path.resolve(), self.base.resolve())).as_posix())
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def _mesh(self, path: Path, index: int) -> str:
        try:
            payload, note = _mesh_json(path)
        except Exception as e:  # trimesh raises many types on unreadable files; the page says so instead
            return f'<p class="muted">cannot read mesh {_e(path.name)}: {_e(type(e).__name__)}: {_e(e)}</p>'
        ident = f"mesh-{index}-{len(self.meshes)}"
        self.meshes.append(f'<script type="application/json" id="{ident}">{payload}</script>')
        return (f'<canvas class="mesh-view" data-mesh="{ident}" title="drag to rotate, wheel to zoom, double-click '
                f'to reset"></canvas><div class="muted" style="font-size:12.5px">{_e(note)}</div>')

    def _file_list(self, run: Run, outputs: list[dict]) -> str:
        items = []
        for o in outputs:
            path = run.path / o["path"]
            size = _size(path.stat().st_size) if path.is_file() else "missing"
            href = quote(Path(os.path.relpath(path.resolve(), self.base.resolve())).as_posix())
            items.append(f'<li><span class="kind">{_e(o["kind"])}</span><a class="path" href="{href}">'
                         f'{_e(o["path"])}</a> <span class="muted">({size}) {_e(o.get("caption", ""))}</span></li>')
        return f'<ul class="files">{"".join(items)}</ul>'


def _metric_keys(runs: list[Run]) -> list[str]:
    """Task metrics logged in metrics.jsonl: numeric keys other than step, loss, time and the raw loss terms."""
    keys: dict[str, None] = {}
    for run in runs:
        for record in run.history:
            skip = {"step", "loss", "time", "weights", *(record.get("weights") or {})}
            keys.update((k, None) for k, v in record.items() if k not in skip and _is_number(v))
    return list(keys)


def _curve(history: list, key: str) -> tuple[list, list]:
    """(steps, values) of `key`, at most MAX_CURVE_POINTS of them (evenly thinned, the last one kept)."""
    points = [(r.get("step", n), r[key]) for n, r in enumerate(history) if _is_number(r.get(key))]
    stride = math.ceil(len(points) / MAX_CURVE_POINTS) if points else 1
    points = points[::-1][::stride][::-1]
    return [p[0] for p in points], [p[1] for p in points]


def _chart(title: str, series: list[tuple[str, list, list]], log: bool) -> str:
    """Inline SVG line chart of series [(label, xs, ys)]; log10 y axis when `log` and every value is positive."""
    log = log and all(y > 0 for _, _, ys in series for y in ys if math.isfinite(y))
    f = math.log10 if log else float
    lines = [(label, PALETTE[n % len(PALETTE)], [(x, f(y)) for x, y in zip(xs, ys) if math.isfinite(y)])
             for n, (label, xs, ys) in enumerate(series)]   # a run keeps its colour in every chart
    lines = [line for line in lines if line[2]]
    if not lines:
        return f'<figure class="chart"><p class="muted">{_e(title)}: no finite values</p></figure>'
    xs, ys = [x for *_, p in lines for x, _ in p], [y for *_, p in lines for _, y in p]
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.06 or (0.1 if log else abs(y0) * 0.05 or 0.5)
    y0, y1 = y0 - pad, y1 + pad
    w, h, left, right, top, bottom = 420, 220, 64, 14, 10, 28

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def sy(y):
        return top + (y1 - y) / (y1 - y0) * (h - top - bottom)

    svg = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{_e(title)}">']
    for value, label in _y_ticks(y0, y1, log):
        svg.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{sy(value):.1f}" y2="{sy(value):.1f}"/>'
                   f'<text x="{left - 6}" y="{sy(value) + 3.5:.1f}" text-anchor="end">{label}</text>')
    for value in _nice(x0, x1, 6, integer=True):
        svg.append(f'<text x="{sx(value):.1f}" y="{h - 8}" text-anchor="middle">{int(value)}</text>')
    svg.append(f'<path class="axis" d="M{left},{top}V{h - bottom}H{w - right}" fill="none"/>')
    for _, colour, pts in lines:
        if len(pts) == 1:
            svg.append(f'<circle cx="{sx(pts[0][0]):.1f}" cy="{sy(pts[0][1]):.1f}" r="3" fill="{colour}"/>')
        else:
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            svg.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.8" '
                       f'stroke-linejoin="round"/>')
    svg.append("</svg>")
    legend = ("" if len(lines) == 1 else '<span class="legend">' + "".join(
        f'<span><i style="background:{colour}"></i>{_e(label)}</span>' for label, colour, _ in lines) + "</span>")
    scale = " (log scale)" if log else ""
    return (f'<figure class="chart">{"".join(svg)}<figcaption><b>{_e(title)}</b>{scale} against step'
            f"{legend}</figcaption></figure>")


def _y_ticks(y0: float, y1: float, log: bool) -> list[tuple[float, str]]:
    """(position, label) of the y ticks; on a log axis decades when the range spans two, else round values."""
    if not log:
        values = _nice(y0, y1, 5)
        return list(zip(values, _labels(values)))
    decades = list(range(math.ceil(y0), math.floor(y1) + 1))
    if len(decades) >= 2:
        decades = decades[::math.ceil(len(decades) / 6)]
        return list(zip(decades, _labels([10.0 ** d for d in decades])))
    values = [v for v in _nice(10 ** y0, 10 ** y1, 4) if v > 0]
    return list(zip(map(math.log10, values), _labels(values)))


def _labels(values: list[float]) -> list[str]:
    """Tick labels with the fewest significant digits (at least 3) that tell every tick apart."""
    for digits in range(3, 12):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _nice(lo: float, hi: float, count: int, integer: bool = False) -> list[float]:
    """About `count` round values (1, 2, 2.5 or 5 times a power of ten apart) in [lo, hi]."""
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, round(step))
    start = math.ceil(lo / step) * step
    return [start + n * step for n in range(int((hi - start) / step + 1e-9) + 1)]


def _comparison_table(runs: list[Run]) -> str:
    """One row per run: model, steps, seconds and every scalar metric; the best value per column in bold."""
    keys: dict[str, None] = {}
    for run in runs:
        keys.update((k, None) for k, v in (run.summary.get("metrics") or {}).items()
                    if isinstance(v, (int, float, str, bool)))
    columns = ["steps", "seconds", *keys]
    rows = [[run.summary.get(c) if c in ("steps", "seconds") else (run.summary.get("metrics") or {}).get(c)
             for c in columns] for run in runs]
    best = {}
    for c, name in enumerate(columns):
        values = [row[c] for row in rows if _is_number(row[c]) and math.isfinite(row[c])]
        direction = _direction(name)
        if direction and len(set(values)) > 1:
            best[c] = max(values) if direction > 0 else min(values)
    head = "".join(f"<th>{_e(c)}</th>" for c in ["run", "model", *columns])
    body = []
    for run, row in zip(runs, rows):
        cells = []
        for c, v in enumerate(row):
            mark = " best" if c in best and v == best[c] else ""
            cells.append(f'<td class="num{mark}">{_fmt(v)}</td>' if _is_number(v) else f"<td>{_fmt(v)}</td>")
        flag = ' <span class="badge interrupted">interrupted</span>' if run.summary.get("interrupted") else ""
        body.append(f'<tr><td><span class="path">{_e(run.path.name)}</span>{flag}</td>'
                    f'<td>{_e(run.summary.get("model", "?"))}</td>{"".join(cells)}</tr>')
    return f'<div class="table-wrap"><table class="comparison"><tr>{head}</tr>{"".join(body)}</table></div>'


def _direction(name: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when unknown (spreads such as *_std have none)."""
    words = set(name.lower().split("_"))
    if "std" in words:
        return 0
    return 1 if words & HIGHER else -1 if words & LOWER else 0


def _metrics_table(metrics: dict) -> str:
    if not metrics:
        return '<p class="muted">no final metrics</p>'
    rows = []
    for k, v in metrics.items():
        cell = f'<td class="num">{_fmt(v)}</td>' if _is_number(v) else f"<td>{_summary(v)}</td>"
        rows.append(f"<tr><th>{_e(k)}</th>{cell}</tr>")
    return f'<table class="metrics">{"".join(rows)}</table>'


def _summary(value) -> str:
    """A metric that is not a number: lists of numbers as mean, min, max and count; other values shortened."""
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        a = np.asarray(value, dtype=float)
        return (f"mean {_fmt(float(np.nanmean(a)))} · min {_fmt(float(np.nanmin(a)))} · "
                f"max {_fmt(float(np.nanmax(a)))} <span class=\"muted\">({len(a)} values)</span>")
    if isinstance(value, (list, dict)):
        text = json.dumps(value, default=str)
        return f'<span class="path">{_e(text[:120] + ("…" if len(text) > 120 else ""))}</span>'
    return _e(value)


def _mesh_json(path: Path) -> tuple[str, str]:
    """The mesh at `path` as viewer JSON (vertices centred and scaled into the unit sphere, rounded to 1e-4;
    decimated by vertex clustering to at most MAX_MESH_FACES faces) and a one-line note of its size."""
    import trimesh
    mesh = trimesh.load(path, force="mesh")
    vertices, faces = np.asarray(mesh.vertices, dtype=float), np.asarray(mesh.faces, dtype=np.int64)
    if len(faces) == 0:
        raise ValueError("it has no faces")
    closed = bool(mesh.is_watertight and mesh.is_winding_consistent)
    note = f"{len(vertices):,} vertices, {len(faces):,} faces"
    if len(faces) > MAX_MESH_FACES:
        vertices, faces = _decimate(vertices, faces, MAX_MESH_FACES)
        note += f", shown decimated to {len(faces):,} faces"
    lo, hi = vertices.min(0), vertices.max(0)
    centre = (lo + hi) / 2
    radius = float(np.linalg.norm(vertices - centre, axis=1).max()) or 1.0
    unit = np.round((vertices - centre) / radius, 4)
    payload = json.dumps({"vertices": unit.ravel().tolist(), "faces": faces.ravel().tolist(), "closed": closed},
                         separators=(",", ":"))
    return payload, note + " · drag to rotate, wheel to zoom"


def _decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering: merge the vertices in each cell of a cubic grid into their mean, drop collapsed and
    repeated faces; the grid is coarsened until at most `max_faces` faces remain. Keeps the shape's outline
    without holes (unlike keeping a subset of faces) and needs nothing beyond numpy."""
    lo = vertices.min(0)
    extent = float((vertices.max(0) - lo).max()) or 1.0
    cells = max(4, int(2 * math.sqrt(max_faces)))
    while True:
        grid = np.minimum(((vertices - lo) / extent * cells).astype(np.int64), cells - 1)
        _, cluster = np.unique((grid[:, 0] * cells + grid[:, 1]) * cells + grid[:, 2], return_inverse=True)
        cluster = cluster.ravel()
        f = cluster[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        f = f[np.sort(first)]
        if len(f) <= max_faces or cells <= 4:
            break
        cells = max(4, int(cells * math.sqrt(max_faces / len(f)) * 0.95))
    counts = np.bincount(cluster)
    merged = np.zeros((len(counts), 3))
    np.add.at(merged, cluster, vertices)
    merged /= counts[:, None]
    used, f = np.unique(f, return_inverse=True)
    return merged[used], f.reshape(-1, 3)


def _png_width(path: Path) -> int | None:
    """Width in pixels of a PNG file (from its header), None for other files."""
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big") if head.startswith(b"\x89PNG\r\n\x1a\n") else None


def _asset(name: str) -> str:
    return resources.files("siren").joinpath("report_assets").joinpath(name).read_text(encoding="utf-8")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return _e(v)


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _e(value) -> str:
    return html.escape(str(value))
