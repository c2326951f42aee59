"""Text of the report's HTML: escaping and the formats of numbers and sizes."""
from __future__ import annotations

import html


def esc(value) -> str:
    """str(value), HTML-escaped."""
    return html.escape(str(value))


def is_number(v) -> bool:
    """An int or float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt(v) -> str:
    """A table cell: — for None, floats to 4 significant digits, anything else escaped."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return esc(v)


def size_text(n: int) -> str:
    """A byte count in B, kB, MB or GB (powers of 1000)."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
