"""`--log tensorboard`: the run's log steps and figures also as TensorBoard events, in <run>/tensorboard/ (the run
folder stays the source of truth: metrics.jsonl, metrics.json and the figures are written as always).

Each log step's record becomes scalars at its step: the loss, each raw loss term (`loss/<name>`), each term's weight
(`weights/<name>`) and every numeric metric of the task (`metrics/<name>`); at the end of the run every PNG the run
wrote is added as an image. Needs the `tensorboard` package (the `tensorboard` extra).
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from .errors import SirenError

__all__ = ["TensorBoard", "SINKS", "scalars", "require_sink"]

SINKS = ("tensorboard",)
FOLDER = "tensorboard"


def require_sink(sink: str | None) -> None:
    """A one-line SirenError, before any work, for an unknown sink or one whose package is not installed."""
    if sink is None:
        return
    if sink not in SINKS:
        raise SirenError(f"unknown log sink {sink!r} (choose {', '.join(SINKS)})")
    if importlib.util.find_spec("tensorboard") is None:
        raise SirenError("--log tensorboard needs the tensorboard package (pip install 'siren-inr[tensorboard]')")


def scalars(record: dict) -> dict:
    """The TensorBoard tags and values of one log record of `siren.train.fit` (step and time left out)."""
    out = {}
    terms = set(record.get("weights", {}))
    for key, value in record.items():
        if key in ("step", "time"):
            continue
        if key == "weights":
            out.update({f"weights/{k}": float(v) for k, v in value.items()})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out["loss" if key == "loss" else f"loss/{key}" if key in terms else f"metrics/{key}"] = float(value)
    return out


class TensorBoard:
    """An event writer into <out>/tensorboard/."""

    def __init__(self, out: str | Path):
        require_sink("tensorboard")
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(log_dir=str(Path(out) / FOLDER))

    def log(self, record: dict) -> None:
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, record["step"])
        self.writer.flush()

    def figures(self, out: str | Path, step: int) -> None:
        """Every PNG in the run folder `out` as an image at `step`."""
        import numpy as np
        from PIL import Image
        for path in sorted(Path(out).glob("*.png")):
            image = np.asarray(Image.open(path).convert("RGB"))
            self.writer.add_image(path.stem, image, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
