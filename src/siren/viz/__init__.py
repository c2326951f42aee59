"""Figures (PNG). Matplotlib with the non-interactive Agg backend."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def image_derivatives(img: np.ndarray):
    """Ground-truth (image, |gradient|, Laplacian) of (H, W, C) in [0, 1] for `derivative_figure`
    (Sobel gradient, 5-point Laplacian, both in units of the [-1, 1] grid, averaged over channels)."""
    from ..data.image import image_gradient, image_laplacian
    return img, np.linalg.norm(image_gradient(img), axis=-1).mean(-1), image_laplacian(img).mean(-1)


def derivative_figure(rows: dict, path: Path, title: str | None = None) -> None:
    """rows: name -> (image (H, W, C) in [0, 1], |gradient| (H, W), Laplacian (H, W)); one row per name."""
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 3, figsize=(9, 3 * len(rows)), squeeze=False)
    for r, (name, (img, mag, lap)) in enumerate(rows.items()):
        lim = np.percentile(np.abs(lap), 99) or 1.0
        panels = [(img[..., 0] if img.shape[-1] == 1 else img, dict(cmap="gray", vmin=0, vmax=1)),
                  (mag, dict(cmap="viridis", vmin=0, vmax=np.percentile(mag, 99) or 1.0)),
                  (lap, dict(cmap="RdBu", vmin=-lim, vmax=lim))]
        for c, (data, kw) in enumerate(panels):
            axes[r, c].imshow(np.clip(data, 0, 1) if c == 0 else data, **kw)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name)
    for c, label in enumerate(["image", "|gradient|", "Laplacian"]):
        axes[0, c].set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.97) if title else None)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def curve(history: list, key: str, path: Path, ylabel: str | None = None) -> None:
    """Plot history[i][key] against history[i]['step'] (skips records without the key)."""
    plt = pyplot()
    pts = [(h["step"], h[key]) for h in history if key in h]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if pts:
        ax.plot(*zip(*pts), marker=".")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel or key)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gradient_magnitude(grad) -> np.ndarray:
    """(H, W, C, 2) gradient (tensor or array) -> (H, W) magnitude averaged over channels."""
    grad = grad.detach().cpu().numpy() if hasattr(grad, "detach") else np.asarray(grad)
    return np.linalg.norm(grad, axis=-1).mean(-1)
