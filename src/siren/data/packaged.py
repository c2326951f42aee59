"""Image sets that ship with packages (nothing downloaded at run time), for `siren meta train --dataset NAME` and
`siren prior train --dataset NAME`:

    faces          scikit-image's LFW subset (`skimage.data.lfw_subset()`, in its wheel): its first 100 images, the
                   face crops (25 x 25 gray; the other 100 are non-face patches, left out); every 10th held out
    fashion-mnist  Fashion-MNIST (28 x 28 gray; its own split: 60,000 training and 10,000 test images) from the
                   Debian package dataset-fashion-mnist (FASHION_MNIST); a one-line error when it is not installed

Every image becomes (size, size, 3) float32 in [-1, 1] (anti-aliased resize, gray repeated to RGB), resized when
read (`ArrayImages`), so the 70,000 Fashion-MNIST images stay uint8 in memory.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SirenError
from .imagefolder import Split, resize

__all__ = ["DATASETS", "FASHION_MNIST", "ArrayImages", "packaged_split", "read_idx"]

DATASETS = ("faces", "fashion-mnist")
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FACES = 100


class ArrayImages(Dataset):
    """Gray images (M, h, w) in [0, 1] (float) or 0..255 (uint8), resized when read; item i -> ((size, size, 3)
    float32 in [-1, 1], "") like `siren.data.imagefolder.ImageTensors`."""

    def __init__(self, images: np.ndarray, names: list[str], size: int = 32):
        self.images, self.names, self.size = images, names, size

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        img = self.images[i].astype(np.float32)
        img = img / 255.0 if self.images.dtype == np.uint8 else img
        img = resize(img[..., None], self.size, self.size).astype(np.float32)
        return torch.from_numpy(np.repeat(2.0 * img - 1.0, 3, axis=2)), ""

    def name(self, i: int) -> str:
        return self.names[i]


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped, as MNIST ships): magic 0 0 type ndim, ndim big-endian uint32 sizes, then the data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def packaged_split(name: str, size: int = 32) -> Split:
    """The Split of the packaged image set `name` (see the module docstring)."""
    if size < 2:
        raise SirenError(f"must be at least 2, got {size}", field="size")
    if name == "faces":
        import skimage.data
        faces = skimage.data.lfw_subset()[:FACES]
        held = set(range(9, FACES, 10))
        pick = lambda keep: [i for i in range(FACES) if (i in held) == keep]   # noqa: E731
        train, test = pick(False), pick(True)
        return Split(ArrayImages(faces[train], [f"face{i}" for i in train], size),
                     ArrayImages(faces[test], [f"face{i}" for i in test], size),
                     "scikit-image's LFW subset (faces)", "every 10th face held out")
    if name == "fashion-mnist":
        files = [FASHION_MNIST / f"{part}-images-idx3-ubyte.gz" for part in ("train", "t10k")]
        if not all(f.is_file() for f in files):
            raise SirenError(f"Fashion-MNIST is not installed (no {files[0]}): apt install dataset-fashion-mnist, or "
                             f"pass another --dataset")
        train, test = (read_idx(f) for f in files)
        return Split(ArrayImages(train, [f"train{i}" for i in range(len(train))], size),
                     ArrayImages(test, [f"test{i}" for i in range(len(test))], size),
                     f"Fashion-MNIST ({FASHION_MNIST})", "its own split: t10k held out")
    raise SirenError(f"unknown dataset {name!r} (choose {', '.join(DATASETS)})")
