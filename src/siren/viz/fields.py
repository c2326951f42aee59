"""Pictures of 2-D fields over [-1, 1]^2 (PNG, and frames for videos) for the PDE tasks.

Fields are (n, n) arrays indexed [ix, iy] on linspace(-1, 1, n)^2 and are drawn with x to the right and y up;
signed fields use RdBu_r over a symmetric range. The non-PML square [-(1 - L), 1 - L]^2 (`siren.fields.pml`) is
the part the Helmholtz and FWI tasks score.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fields.pml import PML_WIDTH
from . import pyplot

INNER = 1 - PML_WIDTH          # half side of the non-PML square


# ---- wave: frames, the difference's gain, video frames, error curves ----------------------------------------
def difference_gain(u: np.ndarray, ref: np.ndarray) -> float:
    """The power of ten (1 to 1000) by which the difference u - ref (frames (F, n, n)) is magnified for display:
    the largest that keeps every frame's |difference| within that frame's reference peak."""
    peak = np.abs(ref).reshape(len(ref), -1).max(1)
    diff = np.abs(u - ref).reshape(len(ref), -1).max(1)
    ratio = min((p / d for p, d in zip(peak, diff) if d > 0), default=1.0)
    return float(10 ** np.clip(np.floor(np.log10(max(ratio, 1e-12))), 0, 3))


def _colour(field: np.ndarray, scale: float) -> np.ndarray:
    """(n, n) field [ix, iy] -> (n, n, 3) RGB in [0, 1], x to the right and y up, RdBu_r over +-scale."""
    from matplotlib import colormaps
    img = np.flipud(field.T) / (scale or 1.0)
    return colormaps["RdBu_r"](np.clip(0.5 + 0.5 * img, 0, 1))[..., :3]


def video_frame(u: np.ndarray, ref: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """One video frame (n, 3 n + 2 gap, 3) RGB in [0, 1]: u | ref | gain x (u - ref) (each (n, n) [ix, iy]) side
    by side with white gaps, on the reference frame's +-peak scale."""
    scale = float(np.abs(ref).max())
    gap = np.ones((u.shape[1], max(2, u.shape[0] // 32), 3))
    return np.concatenate([_colour(u, scale), gap, _colour(ref, scale), gap, _colour(gain * (u - ref), scale)],
                          axis=1)


def wave_frames_figure(times, u, ref, errs, speed, path: Path) -> None:
    """Rows SIREN u, FDTD ref (frames (F, n, n)) and their difference (magnified by `difference_gain`); one column
    per frame time, each on the FDTD frame's +-peak scale, titled with the relative L2 errs[i]; contours of the
    speed (n', n') when it is given (None for a constant)."""
    plt = pyplot()
    cols, gain = len(times), difference_gain(u, ref)
    fig, axes = plt.subplots(3, cols, figsize=(2.2 * cols + 0.8, 6.9), squeeze=False, constrained_layout=True)
    for c, t in enumerate(times):
        scale = float(np.abs(ref[c]).max()) or 1.0
        for r, field in enumerate((u[c], ref[c], gain * (u[c] - ref[c]))):
            ax = axes[r, c]
            im = ax.imshow(field.T, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r", vmin=-scale, vmax=scale)
            if speed is not None:
                ax.contour(np.linspace(-1, 1, speed.shape[0]), np.linspace(-1, 1, speed.shape[1]), speed.T,
                           levels=4, colors="k", linewidths=0.5, alpha=0.6)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, c].set_title(f"t = {t:g}")
        axes[2, c].set_xlabel(f"rel. L2 {errs[c]:.1%}")
        fig.colorbar(im, ax=axes[:, c].tolist(), location="bottom", shrink=0.8, aspect=15)
    for r, label in enumerate(("SIREN", "FDTD", "SIREN - FDTD" if gain == 1 else f"(SIREN - FDTD) x {gain:g}")):
        axes[r, 0].set_ylabel(label)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def error_curves_figure(history: list, curves: dict, path: Path, ylabel: str) -> None:
    """One curve per (label, key) of `curves`: history[i][key] (log scale) against history[i]['step'], records
    without the key skipped; a dashed line at 0.1."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, key in curves.items():
        pts = [(h["step"], h[key]) for h in history if key in h]
        if pts:
            ax.plot(*zip(*pts), marker=".", label=label)
    ax.set_yscale("log")
    ax.axhline(0.1, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- helmholtz: a complex field against the solver's ---------------------------------------------------------
def complex_field_figure(u: np.ndarray, ref: np.ndarray, path: Path, title: str) -> None:
    """3 x 3 panels of complex fields u, ref (n, n): rows real, imaginary, magnitude; columns SIREN, solver,
    difference (same colour scale per row for the first two); the non-PML square dashed."""
    plt = pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(11, 10), constrained_layout=True)
    lim = float(np.percentile(np.abs(ref), 99.5)) or 1.0
    square = [-INNER, INNER, INNER, -INNER, -INNER], [-INNER, -INNER, INNER, INNER, -INNER]
    for r, (name, f) in enumerate((("real", np.real), ("imaginary", np.imag), ("magnitude", np.abs))):
        lo = 0 if name == "magnitude" else -lim
        for c, (label, field) in enumerate((("SIREN", f(u)), ("FD solver", f(ref)), ("difference", f(u) - f(ref)))):
            ax = axes[r, c]
            vmin, vmax = (-lim / 4, lim / 4) if label == "difference" else (lo, lim)
            im = ax.imshow(field.T, origin="lower", extent=(-1, 1, -1, 1), vmin=vmin, vmax=vmax,
                           cmap="RdBu_r" if (label == "difference" or name != "magnitude") else "magma")
            ax.plot(*square, "k--", lw=0.7)
            ax.set_title(f"{label}, {name}")
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- fwi: velocity models and receiver data ------------------------------------------------------------------
def velocity_figure(x, c_true, c_siren, c_base, sources, receivers, result: dict, path: Path) -> None:
    """Speed (n, n) on the axis x (n,) over the non-PML square: true (NaN when unknown: a note instead), SIREN,
    baseline; a second row of errors when the true speed is known; sources (S, 2) as stars and receivers (R, 2)
    as triangles; result's velocity_mse_siren / _baseline in the titles when present."""
    plt = pyplot()
    known = bool(np.all(np.isfinite(c_true)))
    inner = np.abs(x) <= INNER + 1e-9
    crop = lambda c: c[np.ix_(inner, inner)].T          # noqa: E731  (y up)
    box = (-INNER, INNER, -INNER, INNER)
    fig, axes = plt.subplots(1 + known, 3, figsize=(12, 4 * (1 + known)), squeeze=False, constrained_layout=True)
    panels = [c for c in (c_true, c_siren, c_base) if np.all(np.isfinite(c))]
    lo, hi = min(float(crop(c).min()) for c in panels), max(float(crop(c).max()) for c in panels)
    mse = lambda key: f", MSE {result[key]:.4f}" if key in result else ""      # noqa: E731
    titles = ("true c", "SIREN c" + mse("velocity_mse_siren"), "baseline c" + mse("velocity_mse_baseline"))
    for ax, c, title in zip(axes[0], (c_true, c_siren, c_base), titles):
        if np.all(np.isfinite(c)):
            fig.colorbar(ax.imshow(crop(c), origin="lower", extent=box, vmin=lo, vmax=hi, cmap="viridis"), ax=ax,
                         shrink=0.8)
        else:
            ax.text(0, 0, "true velocity unknown\n(receiver data from a file)", ha="center", va="center")
            ax.set_xlim(-INNER, INNER)
            ax.set_ylim(-INNER, INNER)
        ax.plot(*sources.T, "w*", ms=10, mec="k")
        ax.plot(*receivers.T, "r^", ms=5, mec="k")
        ax.set_title(title)
    if known:
        lim = max(float(np.abs(crop(c - c_true)).max()) for c in (c_siren, c_base)) or 1.0
        for ax, c, title in zip(axes[1, 1:], (c_siren, c_base), ("SIREN - true", "baseline - true")):
            fig.colorbar(ax.imshow(crop(c - c_true), origin="lower", extent=box, vmin=-lim, vmax=lim, cmap="RdBu_r"),
                         ax=ax, shrink=0.8)
            ax.set_title(title)
        axes[1, 0].axis("off")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def receiver_data_figure(observed: np.ndarray, siren: np.ndarray, baseline: np.ndarray, path: Path) -> None:
    """Real and imaginary part of receiver data (R, S), flattened source by source: observed, SIREN, baseline."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True, constrained_layout=True)
    flat = lambda d: d.T.ravel()                       # noqa: E731  source-major
    for ax, part, name in zip(axes, (np.real, np.imag), ("real part", "imaginary part")):
        ax.plot(part(flat(observed)), "ko", ms=4, label="observed")
        ax.plot(part(flat(siren)), "-", label="SIREN")
        ax.plot(part(flat(baseline)), "--", label="baseline")
        for j in range(1, observed.shape[1]):
            ax.axvline(j * observed.shape[0] - 0.5, color="0.8", lw=0.8)
        ax.set_ylabel(name)
    axes[0].legend(ncol=3)
    axes[1].set_xlabel("receiver (grouped by source)")
    fig.savefig(path, dpi=90)
    plt.close(fig)
