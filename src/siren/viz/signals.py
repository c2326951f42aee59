"""Figures of fitted signals: audio waveforms and spectrograms, video frames, rows of images."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import pyplot

__all__ = ["audio_figure", "frames_figure", "image_row"]


ENVELOPE_COLUMNS = 2000     # waveform panels of clips longer than 2x this: min / max of each of this many columns
SPECTROGRAM_COLUMNS = 1000  # spectrograms of more windows than this: the mean power of consecutive windows
FIGURE_BLOCK = 1 << 18      # samples read at a time by the long-clip figure (its memory beyond its inputs)


def _mono(x: np.ndarray) -> np.ndarray:
    """(n,) or (n, C) -> (n,), the channels averaged."""
    return x.mean(-1) if x.ndim == 2 else x


def _column_edges(n: int, columns: int) -> np.ndarray:
    """columns + 1 sample indices splitting n samples into `columns` runs of nearly equal length (each >= 1)."""
    return (np.arange(columns + 1, dtype=np.int64) * n) // columns


def _blocks(starts: np.ndarray, block: int):
    """Ranges (c0, c1) of consecutive columns with sample starts `starts` (the last entry: the end of the last
    column) such that each range spans at most `block` samples, or one column when a column alone is longer."""
    c0, columns = 0, len(starts) - 1
    while c0 < columns:
        c1 = int(np.searchsorted(starts, starts[c0] + block, side="right")) - 1
        c1 = min(max(c1, c0 + 1), columns)
        yield c0, c1
        c0 = c1


def envelope(x, columns: int = ENVELOPE_COLUMNS, block: int = FIGURE_BLOCK):
    """Waveform at display resolution: x (n,) or (n, C) (channels averaged; anything with len and slices) ->
    (edges (columns + 1,), lo, hi (columns,)): the min and max of the samples of each of `columns` consecutive runs
    [edges[j], edges[j + 1]) of nearly equal length (columns = n when n is smaller). O(n) time, O(columns + block)
    memory beyond x."""
    n = len(x)
    columns = max(1, min(columns, n))
    edges = _column_edges(n, columns)
    lo, hi = np.empty(columns), np.empty(columns)
    for c0, c1 in _blocks(edges, block):
        part, local = _mono(x[edges[c0]:edges[c1]]), edges[c0:c1] - edges[c0]
        lo[c0:c1], hi[c0:c1] = np.minimum.reduceat(part, local), np.maximum.reduceat(part, local)
    return edges, lo, hi


class _Residual:
    """pred - truth (channels averaged), computed a slice at a time: len(r) and r[s:e] -> (e - s,)."""

    def __init__(self, truth, pred):
        self.truth, self.pred = truth, pred

    def __len__(self):
        return len(self.truth)

    def __getitem__(self, run: slice):
        return _mono(self.pred[run]) - _mono(self.truth[run])


def spectrogram_columns(x, rate: int, window: int, columns: int = SPECTROGRAM_COLUMNS,
                        block: int = FIGURE_BLOCK):
    """Power spectral density (scipy.signal.spectrogram: Tukey windows of `window` samples, hop window - window //
    8) of x (n,) or (n, C) (channels averaged) -> (f, t, S (len f, len t)). With at most `columns` windows: every
    window, as scipy gives it; with more: the mean power of g = ceil(windows / columns) consecutive windows per
    column (t: the mean of their centres), computed a block of about `block` samples at a time. O(n log window)
    time, O(columns x window + block) memory beyond x."""
    from scipy.signal import spectrogram
    n = len(x)
    hop = window - window // 8
    windows = (n - window) // hop + 1
    if windows <= columns:
        return spectrogram(_mono(x), fs=rate, nperseg=window)
    g = -(-windows // columns)
    cols = -(-windows // g)
    first = np.minimum(np.arange(cols + 1) * g, windows)       # window index starting each column; then the end
    power, times = None, np.empty(cols)
    for c0, c1 in _blocks(first * hop, block):
        w0, w1 = first[c0], first[c1]
        f, _, s = spectrogram(_mono(x[w0 * hop:(w1 - 1) * hop + window]), fs=rate, nperseg=window)
        if power is None:
            power = np.empty((len(f), cols))
        counts = np.diff(first[c0:c1 + 1])
        power[:, c0:c1] = np.add.reduceat(s, first[c0:c1] - w0, axis=1) / counts
        times[c0:c1] = (first[c0:c1] * hop + (counts - 1) * hop / 2 + window / 2) / rate
    return f, times, power


def audio_figure(truth: np.ndarray, pred: np.ndarray, rate: int, path: Path) -> None:
    """truth, pred: (N, C) in [-1, 1] (channels averaged for display) -> PNG with both waveforms, the residual
    pred - truth and both spectrograms (dB, one colour scale, 80 dB range).

    At display resolution, so a clip of any length costs O(N) time and O(display) memory beyond its inputs: clips
    of more than 2 ENVELOPE_COLUMNS samples are drawn as the min / max envelope of ENVELOPE_COLUMNS columns
    (`envelope`), spectrograms have at most SPECTROGRAM_COLUMNS time columns (`spectrogram_columns`); shorter
    clips are drawn sample by sample."""
    plt = pyplot()
    n = len(truth)
    seconds_end = (n - 1) / rate
    fig, ax = plt.subplot_mosaic([["truth", "fit"], ["residual", "residual"], ["spec truth", "spec fit"]],
                                 figsize=(11, 8), constrained_layout=True)
    ax["truth"].sharey(ax["fit"])                # before plotting: one y range that holds both waveforms
    waves = (("truth", truth), ("fit", pred), ("residual", _Residual(truth, pred)))
    for name, x in waves:
        color = "C3" if name == "residual" else "C0"
        if n > 2 * ENVELOPE_COLUMNS:
            edges, lo, hi = envelope(x)
            middle = (edges[:-1] + edges[1:] - 1) / 2 / rate
            ax[name].fill_between(middle, lo, hi, lw=0.4, color=color, edgecolor=color)
        else:
            ax[name].plot(np.arange(n) / rate, _mono(x[0:n]), lw=0.4, color=color)
        ax[name].set_title("ground truth" if name == "truth" else name)
        ax[name].set_xlabel("time (s)")
        ax[name].set_xlim(0, seconds_end)
    window = min(n, max(64, min(512, n // 32)))  # >= 32 windows on short clips
    specs = [spectrogram_columns(x, rate, window) for x in (truth, pred)]
    top = max(10.0 * np.log10(s.max() + 1e-30) for _, _, s in specs)
    for name, (f, t, s) in zip(("spec truth", "spec fit"), specs):
        im = ax[name].pcolormesh(t, f, 10.0 * np.log10(s + 1e-30), vmin=top - 80.0, vmax=top, cmap="magma",
                                 shading="auto")
        ax[name].set_title(f"spectrogram, {name.split()[1].replace('truth', 'ground truth')}")
        ax[name].set_xlabel("time (s)")
        ax[name].set_ylabel("frequency (Hz)")
    fig.colorbar(im, ax=[ax["spec truth"], ax["spec fit"]], label="power (dB)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def frames_figure(panels: dict, psnrs: list, path: Path) -> None:
    """panels: frame index -> (truth, fit), each (H, W, C) in [0, 1] -> PNG, one column per frame, rows ground truth,
    fit and |fit - truth| (mean over channels, colour scale 0..max); psnrs[i] titles frame i."""
    plt = pyplot()
    cols = sorted(panels)
    errors = {i: np.abs(panels[i][1] - panels[i][0]).mean(-1) for i in cols}
    top = max(e.max() for e in errors.values()) or 1.0
    h, w = panels[cols[0]][0].shape[:2]
    fig, axes = plt.subplots(3, len(cols), figsize=(2.4 * len(cols) * max(w / h, 0.6) + 1.0, 7.5), squeeze=False,
                             constrained_layout=True)
    for c, i in enumerate(cols):
        truth, pred = panels[i]
        for r, img in enumerate((truth, pred)):
            axes[r, c].imshow(np.clip(img[..., 0] if img.shape[-1] == 1 else img, 0, 1), cmap="gray", vmin=0, vmax=1)
        im = axes[2, c].imshow(errors[i], cmap="inferno", vmin=0, vmax=top)
        axes[0, c].set_title(f"frame {i}, {psnrs[i]:.1f} dB")
        for r in range(3):
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    for r, label in enumerate(("ground truth", "fit", "|error|")):
        axes[r, 0].set_ylabel(label)
    fig.colorbar(im, ax=axes[2, :].tolist(), shrink=0.8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def image_row(images: dict, path: Path, outline: np.ndarray | None = None) -> None:
    """One row of labelled images (H, W, C) in [0, 1]; `outline` (H, W) bool is drawn as a contour on each."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.4), squeeze=False)
    for ax, (name, img) in zip(axes[0], images.items()):
        img = np.clip(img, 0.0, 1.0)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        if outline is not None and not outline.all() and name != "Poisson composite":
            ax.contour(outline, levels=[0.5], colors="yellow", linewidths=0.8)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
