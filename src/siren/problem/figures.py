"""Figures of a solve run: the solution, the reference and the error, and the residual, on a grid of the box.

2-D inputs: a map over both axes; 1-D space + time: a map over (x, t); 2-D space + time: maps over (x, y) at the
first and last time; 1-D: curves. Points outside the domain are blank. Values are the outputs in the user's units.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..viz import pyplot

__all__ = ["grids", "solution_figure"]


def grids(problem, n: int = 128) -> list[tuple[str, np.ndarray, tuple[int, ...]]]:
    """[(label, points (n^k, d), image shape)] to draw: one per map (see the module docstring)."""
    lo, hi, d = problem.lo, problem.hi, len(problem.inputs)
    axes = [np.linspace(lo[i], hi[i], n) for i in range(d)]
    if d <= 2:
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
        return [("", mesh, (n,) * d)]
    out = []
    for t in (lo[-1], hi[-1]) if len(problem.space) == d - 1 else (0.5 * (lo[-1] + hi[-1]),):
        mesh = np.stack(np.meshgrid(axes[0], axes[1], indexing="ij"), -1).reshape(-1, 2)
        rest = np.tile(np.r_[[0.5 * (lo[i] + hi[i]) for i in range(2, d - 1)], t], (len(mesh), 1))
        out.append((f"{problem.inputs[-1]} = {t:g}", np.concatenate([mesh, rest], 1), (n, n)))
    return out


def _inside(problem, x: np.ndarray) -> np.ndarray:
    return problem.domain.contains(torch.as_tensor(x, dtype=torch.float64)).numpy()


def solution_figure(problem, models: dict, reference, residual_name: str | None, path: Path, n: int = 128) -> None:
    """One row per map and output: solution, reference and |error| (when a callable reference is given), and
    |residual| of `residual_name` (its first component)."""
    plt = pyplot()
    rows = []
    for label, x, shape in grids(problem, n):
        inside = _inside(problem, x)
        values = problem.evaluate(models, x)["value"]
        ref = None
        if callable(reference):
            ref = np.full((len(x), len(problem.outputs)), np.nan)
            got = np.asarray(reference(x[inside]), float).reshape(int(inside.sum()), -1)
            ref[inside, :got.shape[1]] = got
        res = None
        if residual_name is not None:
            p = next(models["solution"].parameters())
            chunks = [problem.residual(residual_name, models, [(torch.as_tensor(x[s:s + 4096]), None, {})], p.dtype,
                                       p.device).detach() for s in range(0, len(x), 4096)]
            res = torch.cat(chunks).reshape(len(x), -1)[:, 0].abs().double().cpu().numpy()
        for c, name in enumerate(problem.outputs):
            panels = [(f"{name} {label}", values[:, c])]
            if ref is not None and c < ref.shape[1]:
                panels += [(f"reference {name}", ref[:, c]), (f"|error| of {name}", np.abs(values[:, c] - ref[:, c]))]
            if res is not None and c == 0:
                panels.append((f"|residual {residual_name}|", res))
            rows.append((panels, inside, shape))
    cols = max(len(p) for p, _, _ in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(3.6 * cols, 3.0 * len(rows)), squeeze=False)
    for r, (panels, inside, shape) in enumerate(rows):
        for k in range(cols):
            ax = axes[r][k]
            if k >= len(panels):
                ax.axis("off")
                continue
            title, v = panels[k]
            v = np.where(inside, v, np.nan)
            if len(shape) == 1:
                ax.plot(np.linspace(problem.lo[0], problem.hi[0], shape[0]), v)
                ax.set_xlabel(problem.inputs[0])
            else:
                im = ax.imshow(v.reshape(shape).T, origin="lower", aspect="auto", cmap="RdBu_r" if "|" not in
                               title else "magma", extent=[problem.lo[0], problem.hi[0], problem.lo[1],
                                                           problem.hi[1]])
                fig.colorbar(im, ax=ax, fraction=0.046)
                ax.set_xlabel(problem.inputs[0])
                ax.set_ylabel(problem.inputs[1])
            ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
