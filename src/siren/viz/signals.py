"""Figures of fitted signals: audio waveforms and spectrograms, video frames, rows of images."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import pyplot

__all__ = ["audio_figure", "frames_figure", "image_row"]


def audio_figure(truth: np.ndarray, pred: np.ndarray, rate: int, path: Path) -> None:
    """truth, pred: (N, C) in [-1, 1] (channels averaged for display) -> PNG with both waveforms, the residual
    pred - truth and both spectrograms (dB, one colour scale, 80 dB range)."""
    from scipy.signal import spectrogram
    plt = pyplot()
    truth, pred = truth.mean(-1), pred.mean(-1)
    seconds = np.arange(len(truth)) / rate
    fig, ax = plt.subplot_mosaic([["truth", "fit"], ["residual", "residual"], ["spec truth", "spec fit"]],
                                 figsize=(11, 8), constrained_layout=True)
    for name, x in (("truth", truth), ("fit", pred), ("residual", pred - truth)):
        ax[name].plot(seconds, x, lw=0.4, color="C3" if name == "residual" else "C0")
        ax[name].set_title("ground truth" if name == "truth" else name)
        ax[name].set_xlabel("time (s)")
        ax[name].set_xlim(0, seconds[-1])
    ax["truth"].sharey(ax["fit"])
    window = min(len(truth), max(64, min(512, len(truth) // 32)))  # >= 32 windows on short clips
    specs = [spectrogram(x, fs=rate, nperseg=window) for x in (truth, pred)]
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
