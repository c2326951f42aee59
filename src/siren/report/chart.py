"""Inline SVG line charts for the report: series against step, linear or log10 y axis, round tick values."""
from __future__ import annotations

import math

from .text import esc

PALETTE = ("#2458c6", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4fc9", "#3d8fb8", "#c2587a", "#5b6470")


def chart(title: str, series: list[tuple[str, list, list]], log: bool) -> str:
    """<figure> with an SVG line chart of series [(label, xs, ys)] (series n in PALETTE[n], so a run keeps its colour
    in every chart); log10 y axis when `log` and every value is positive; non-finite values skipped."""
    log = log and all(y > 0 for _, _, ys in series for y in ys if math.isfinite(y))
    f = math.log10 if log else float
    lines = [(label, PALETTE[n % len(PALETTE)], [(x, f(y)) for x, y in zip(xs, ys) if math.isfinite(y)])
             for n, (label, xs, ys) in enumerate(series)]
    lines = [line for line in lines if line[2]]
    if not lines:
        return f'<figure class="chart"><p class="muted">{esc(title)}: no finite values</p></figure>'
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

    svg = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{esc(title)}">']
    for value, label in y_ticks(y0, y1, log):
        svg.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{sy(value):.1f}" y2="{sy(value):.1f}"/>'
                   f'<text x="{left - 6}" y="{sy(value) + 3.5:.1f}" text-anchor="end">{label}</text>')
    for value in nice(x0, x1, 6, integer=True):
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
        f'<span><i style="background:{colour}"></i>{esc(label)}</span>' for label, colour, _ in lines) + "</span>")
    scale = " (log scale)" if log else ""
    return (f'<figure class="chart">{"".join(svg)}<figcaption><b>{esc(title)}</b>{scale} against step'
            f"{legend}</figcaption></figure>")


def y_ticks(y0: float, y1: float, log: bool) -> list[tuple[float, str]]:
    """(position, label) of the y ticks on [y0, y1] (log10 values when `log`); on a log axis decades when the range
    spans two, else round values."""
    if not log:
        values = nice(y0, y1, 5)
        return list(zip(values, labels(values)))
    decades = list(range(math.ceil(y0), math.floor(y1) + 1))
    if len(decades) >= 2:
        decades = decades[::math.ceil(len(decades) / 6)]
        return list(zip(decades, labels([10.0 ** d for d in decades])))
    values = [v for v in nice(10 ** y0, 10 ** y1, 4) if v > 0]
    return list(zip(map(math.log10, values), labels(values)))


def labels(values: list[float]) -> list[str]:
    """Tick labels with the fewest significant digits (at least 3) that tell every tick apart."""
    for digits in range(3, 12):
        out = [f"{v:.{digits}g}" for v in values]
        if len(set(out)) == len(out):
            break
    return out


def nice(lo: float, hi: float, count: int, integer: bool = False) -> list[float]:
    """About `count` round values (1, 2, 2.5 or 5 times a power of ten apart) in [lo, hi]."""
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, round(step))
    start = math.ceil(lo / step) * step
    return [start + n * step for n in range(int((hi - start) / step + 1e-9) + 1)]
