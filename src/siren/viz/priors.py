"""Figures of priors over images: context, reconstruction and truth side by side."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.masks import EVAL_SEED, context_mask
from ..metrics import to_unit
from . import pyplot

__all__ = ["UNKNOWN", "shown", "inpainting_figure"]

UNKNOWN = np.array([0.15, 0.2, 0.45])                 # colour of pixels outside the context in figures


def shown(values: torch.Tensor, mask: torch.Tensor | None = None) -> np.ndarray:
    """(H, W, C) in [-1, 1] -> (H, W, 3) in [0, 1] for display; pixels outside `mask` painted UNKNOWN."""
    img = to_unit(values).cpu().numpy()
    if mask is not None:
        img = np.where(mask.cpu().numpy()[..., None], img, UNKNOWN)
    return img


@torch.no_grad()
def inpainting_figure(model, images: torch.Tensor, contexts: list, path: Path, title: str | None = None,
                      seed: int = EVAL_SEED) -> None:
    """Rows: images (M, S, S, 3) in [-1, 1]; columns: for each context (a pixel count or "half") the context and
    the reconstruction, then the truth."""
    plt = pyplot()
    device = next(model.parameters()).device
    m, size = images.shape[0], images.shape[1]
    cols = 2 * len(contexts) + 1
    fig, axes = plt.subplots(m, cols, figsize=(1.3 * cols, 1.3 * m + (0.4 if title else 0)), squeeze=False)
    for c, context in enumerate(contexts):
        masks = torch.stack([context_mask(context, size, seed + i) for i in range(m)])
        pred = model(images.to(device), masks.to(device)).pred.cpu()
        label = "top half" if context == "half" else f"{context} px"
        axes[0, 2 * c].set_title(f"context\n{label}", fontsize=8)
        axes[0, 2 * c + 1].set_title(f"reconstruction\n{label}", fontsize=8)
        for r in range(m):
            axes[r, 2 * c].imshow(shown(images[r], masks[r]), interpolation="nearest")
            axes[r, 2 * c + 1].imshow(shown(pred[r]), interpolation="nearest")
    axes[0, -1].set_title("truth\n", fontsize=8)
    for r in range(m):
        axes[r, -1].imshow(shown(images[r]), interpolation="nearest")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
