"""Small square images for learning priors over SIRENs: any folder of images, or a no-download demo set.

Every image becomes an (S, S, 3) float32 tensor in [-1, 1] (S = `size`, default 32): centre-cropped to a square,
resized with anti-aliasing, gray images repeated to 3 channels, alpha dropped.

Folder (`folder_split`): every image file directly in the folder (`siren.data.image.image_files`, natural name
order), read lazily by `ImageFiles` (a Dataset; a `torch.utils.data.DataLoader` with workers reads and resizes in
parallel). Held-out split: CelebA's `list_eval_partition.txt` / `.csv` when it lies in the folder or next to it
(partition 0 trains, 2 is held out, 1 (validation) is unused); otherwise every 10th file in name order (files
10, 20, ...) is held out, and the last file when there are fewer than 10.

Demo (`demo_split`): square crops of the 18 photographs bundled inside scikit-image's wheel (`DEMO_PHOTOS`; no
download). Each photograph is resized so its shorter side is 2 S, 4 S and 8 S pixels (never enlarged), and each
resized copy is cut into non-overlapping S x S tiles centred on the picture. At S = 32 this gives 1,644 crops
(about 20 MB as float32): 1,204 for training from 14 photographs and 440 held out from 4 others (`DEMO_TEST`:
chelsea, coffee, coins, moon); no held-out crop shares a photograph with training. Gray photographs (10 of 18)
give gray RGB crops. It is built once per process (then cached). Smaller S keeps more scales of the
small photographs (page, text), e.g. 1,934 crops at S = 8.

Batches for training come from `StepBatches`: the batch of step k is a pure function of (seed, k) (each epoch is
a seeded permutation; a batch may straddle two epochs), so a resumed run draws the same images as an
uninterrupted one, whatever the number of loader workers.
"""
from __future__ import annotations

import functools
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import SirenError
from .image import load_image, require_image_files, to_float_image

__all__ = ["square_image", "ImageFiles", "ImageTensors", "Split", "folder_split", "demo_split", "demo_crops",
           "DEMO_PHOTOS", "DEMO_TEST", "StepBatches", "step_loader", "StepImages", "spread", "SPLIT_FILES"]

# name -> function of skimage.data returning the photograph (all bundled in the wheel)
DEMO_PHOTOS = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
               "hubble_deep_field", "immunohistochemistry", "moon", "motorcycle", "page", "retina", "rocket", "text")
DEMO_TEST = ("chelsea", "coffee", "coins", "moon")          # held-out photographs: 2 colour, 2 gray
DEMO_SCALES = (2, 4, 8)                                    # shorter side = scale * size
SPLIT_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")


def square_image(img: np.ndarray, size: int) -> np.ndarray:
    """(H, W, C) in [0, 1] -> (size, size, 3) float32 in [0, 1]: centre square crop, anti-aliased resize, gray
    repeated to RGB."""
    if size < 2:
        raise SirenError(f"must be at least 2, got {size}", field="size")
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    img = resize(img[top:top + s, left:left + s], size, size)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H, W, C) float in [0, 1] -> (h, w, C) float32 in [0, 1]: Pillow's Lanczos filter per channel (widened when
    shrinking, so anti-aliased), bicubic when enlarging; a no-op at the same size."""
    from PIL import Image
    if img.shape[:2] == (h, w):
        return img.astype(np.float32)
    method = Image.Resampling.LANCZOS if h <= img.shape[0] and w <= img.shape[1] else Image.Resampling.BICUBIC
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c], dtype=np.float32))
                        .resize((w, h), method)) for c in range(img.shape[2])]
    return np.clip(np.stack(chans, axis=-1), 0.0, 1.0)


def _to_signal(img: np.ndarray) -> torch.Tensor:
    """(S, S, 3) in [0, 1] -> float32 tensor in [-1, 1]."""
    return torch.from_numpy(2.0 * img - 1.0).float()


class ImageFiles(Dataset):
    """Image files read on demand. item i -> (image (size, size, 3) float32 in [-1, 1], error): error is "" or a
    one-line message naming the unreadable file (its image is then zeros), so a bad file deep inside a large
    folder is reported by the training loop as a one-line error instead of a worker traceback."""

    def __init__(self, files: Sequence[str | Path], size: int = 32):
        self.files, self.size = [str(f) for f in files], size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")      # alpha dropped: expected for PNGs with transparency
                return _to_signal(square_image(load_image(self.files[i]), self.size)), ""
        except SirenError as e:
            return torch.zeros(self.size, self.size, 3), f"{e} (remove or fix it)"

    def name(self, i: int) -> str:
        return Path(self.files[i]).name


class ImageTensors(Dataset):
    """Images held in memory: (M, size, size, 3) in [-1, 1]; item i -> (image, "") like `ImageFiles`."""

    def __init__(self, images: torch.Tensor, names: Sequence[str]):
        if images.dim() != 4 or images.shape[-1] != 3 or len(names) != images.shape[0]:
            raise ValueError(f"expected (M, S, S, 3) images and M names, got {tuple(images.shape)} and {len(names)}")
        self.images, self.names = images, list(names)
        self.size = images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.images[i], ""

    def name(self, i: int) -> str:
        return self.names[i]


@dataclass
class Split:
    """A training set and a held-out set of (size, size, 3) images, and where they came from (for config.json)."""
    train: Dataset
    test: Dataset
    source: str
    rule: str

    def describe(self) -> dict:
        return {"source": self.source, "split": self.rule, "train": len(self.train), "test": len(self.test)}


def _partition_file(folder: Path) -> Path | None:
    for where in (folder, folder.parent):
        for name in SPLIT_FILES:
            if (where / name).is_file():
                return where / name
    return None


def _read_partition(path: Path) -> dict[str, int]:
    """CelebA's partition file: "000001.jpg 0" lines (or CSV "image_id,partition") -> {file name: 0 | 1 | 2}."""
    parts = {}
    for line in path.read_text().splitlines():
        fields = line.replace(",", " ").split()
        if len(fields) == 2 and fields[1].isdigit():
            parts[fields[0]] = int(fields[1])
    if not parts:
        raise SirenError(f"{path} has no 'NAME PARTITION' lines (fix it, or move it away to split by file order)")
    return parts


def folder_split(folder: str | Path, size: int = 32) -> Split:
    """Every image of `folder` -> Split of `ImageFiles` (see the module docstring for the held-out rule).

    Errors (SirenError): not a folder, no image files, no readable image (files are tried in order until one reads;
    a later unreadable file is reported when a batch meets it), fewer than 2 images, an empty side of the split.
    """
    folder = Path(folder)
    files = require_image_files(folder, "or --demo")
    for f in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load_image(f)
            break
        except SirenError:
            continue
    else:
        raise SirenError(f"no readable image in {folder} ({len(files)} image file(s), none could be read as an "
                         f"image)")
    if len(files) < 2:
        raise SirenError(f"{folder} holds 1 image; a prior needs at least 2 (one is held out for testing)")
    partition = _partition_file(folder)
    if partition is not None:
        parts = _read_partition(partition)
        train = [f for f in files if parts.get(f.name) == 0]
        test = [f for f in files if parts.get(f.name) == 2]
        rule = f"{partition.name}: partition 0 trains, 2 is held out"
    else:
        held = set(range(9, len(files), 10)) or {len(files) - 1}
        train = [f for i, f in enumerate(files) if i not in held]
        test = [f for i, f in enumerate(files) if i in held]
        rule = "every 10th file in name order held out" if len(files) >= 10 else "the last file held out"
    if not train or not test:
        raise SirenError(f"the split of {folder} leaves {len(train)} training and {len(test)} held-out images "
                         f"(by {rule}; both need at least one)")
    return Split(ImageFiles(train, size), ImageFiles(test, size), str(folder), rule)


def _photo(name: str) -> np.ndarray:
    import skimage.data
    img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return to_float_image(img, name=name)


def _tiles(img: np.ndarray, size: int) -> list[np.ndarray]:
    """Non-overlapping size x size tiles of (H, W, C), the grid centred on the picture."""
    h, w = img.shape[:2]
    rows, cols = h // size, w // size
    top, left = (h - rows * size) // 2, (w - cols * size) // 2
    return [img[top + r * size: top + (r + 1) * size, left + c * size: left + (c + 1) * size]
            for r in range(rows) for c in range(cols)]


@functools.lru_cache(maxsize=4)
def demo_crops(size: int = 32) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Every demo crop -> (images (M, size, size, 3) float32 in [-1, 1], names "photo/scale/index"), photographs in
    `DEMO_PHOTOS` order. Cached per size."""
    if size < 2:
        raise SirenError(f"must be at least 2, got {size}", field="size")
    crops, names = [], []
    for photo in DEMO_PHOTOS:
        img = _photo(photo)
        img = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
        h, w = img.shape[:2]
        for scale in DEMO_SCALES:
            short = scale * size
            if short > min(h, w):
                continue                                   # never enlarge a photograph
            factor = short / min(h, w)
            shape = (max(short, round(h * factor)), max(short, round(w * factor)))
            small = resize(img, *shape[:2])
            for i, tile in enumerate(_tiles(small, size)):
                crops.append(tile.astype(np.float32))
                names.append(f"{photo}/{scale}/{i}")
    return _to_signal(np.stack(crops)), tuple(names)


def demo_split(size: int = 32) -> Split:
    """The demo crops split by source photograph: crops of `DEMO_TEST` are held out, the rest train."""
    images, names = demo_crops(size)
    test = torch.tensor([n.split("/")[0] in DEMO_TEST for n in names])
    pick = lambda keep: [n for n, t in zip(names, test.tolist()) if t == keep]   # noqa: E731
    return Split(ImageTensors(images[~test], pick(False)), ImageTensors(images[test], pick(True)),
                 "scikit-image photographs (demo)", f"by photograph: {', '.join(DEMO_TEST)} held out")


def training_split(folder: str | Path | None, demo: bool, size: int = 32, dataset: str | None = None) -> Split:
    """The Split of a training command's DATA folder (`folder_split`), of the demo crops (`demo`: `demo_split`) or
    of a packaged image set (`dataset`: `siren.data.packaged`): exactly one of them (a SirenError otherwise)."""
    if (folder is not None) + bool(demo) + (dataset is not None) != 1:
        raise SirenError("give one of a DATA folder of images, --demo or --dataset NAME (not both, not neither)")
    if dataset is not None:
        from .packaged import packaged_split
        return packaged_split(dataset, size)
    return demo_split(size) if demo else folder_split(folder, size)


class StepBatches(Sampler):
    """Batch sampler whose k-th batch is a pure function of (seed, k): the infinite stream of epoch permutations
    (epoch e: randperm(n) seeded by (seed, e)) cut into consecutive batches of `batch_size`, starting at batch
    `start`. Yields lists of indices forever; with `part` (a range of batch positions) only those of each batch,
    e.g. one process's share of a data-parallel step (`siren.distributed.shard`)."""

    def __init__(self, n: int, batch_size: int, seed: int, start: int = 0, part: range | None = None):
        if n < 1 or batch_size < 1:
            raise ValueError(f"need n >= 1 and batch_size >= 1, got {n} and {batch_size}")
        self.n, self.batch_size, self.seed, self.start = n, batch_size, seed, start
        self.part = slice(None) if part is None else slice(part.start, part.stop)

    def _perm(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(zlib.crc32(f"{self.seed}/{epoch}".encode()))
        return torch.randperm(self.n, generator=gen)

    def batch(self, k: int) -> list[int]:
        """The indices of batch k."""
        first = k * self.batch_size
        out, epoch, cached = [], -1, None
        for i in range(first, first + self.batch_size):
            if i // self.n != epoch:
                epoch = i // self.n
                cached = self._perm(epoch)
            out.append(int(cached[i % self.n]))
        return out

    def __iter__(self) -> Iterator[list[int]]:
        k = self.start
        while True:
            yield self.batch(k)[self.part]
            k += 1

    def __len__(self) -> int:                          # DataLoader asks; the stream is endless
        raise TypeError("StepBatches is endless")


def step_loader(dataset: Dataset, batch_size: int, seed: int, start: int = 0, workers: int = 0,
                part: range | None = None) -> Iterator:
    """Iterator over batches (images (B, S, S, 3), errors tuple) from batch `start` on (see `StepBatches`; `part`:
    only those positions of each batch), read by `workers` processes (0: in this process)."""
    loader = DataLoader(dataset, batch_sampler=StepBatches(len(dataset), batch_size, seed, start, part),
                        num_workers=workers, persistent_workers=False, prefetch_factor=2 if workers else None)
    return iter(loader)


class StepImages:
    """The training images of each step of a run: step k's batch of `StepBatches` (only the positions `part`),
    read by `workers` processes for a folder (`ImageFiles`). The seed is drawn from the run's generator at the first
    call; a task keeps it in its state (`seed`) so a resumed run reads the same batches."""

    def __init__(self, dataset: Dataset, batch_size: int, workers: int = 0, part: range | None = None):
        self.dataset, self.batch_size, self.part = dataset, batch_size, part
        self.workers = workers if isinstance(dataset, ImageFiles) else 0
        self.seed: int | None = None
        self.close()

    def close(self) -> None:
        """Drop the loader (and stop its workers); the next call starts one at its step."""
        self._batches, self._next = None, None

    def __call__(self, step: int, generator: torch.Generator) -> torch.Tensor:
        """The images of step `step` -> (b, S, S, 3) on the CPU; an unreadable file is a one-line SirenError."""
        if self.seed is None:
            self.seed = int(torch.randint(2 ** 31 - 1, (1,), generator=generator))
        if self._batches is None or self._next != step:
            self._batches = step_loader(self.dataset, self.batch_size, self.seed, step, self.workers, self.part)
        images, errors = next(self._batches)
        self._next = step + 1
        bad = [e for e in errors if e]
        if bad:
            raise SirenError(bad[0])
        return images


def spread(dataset: Dataset, count: int) -> torch.Tensor:
    """`count` images spread evenly over `dataset` (all when it has fewer) -> (M, S, S, 3) on the CPU; an
    unreadable file is a one-line SirenError."""
    n = len(dataset)
    idx = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
    items = [dataset[int(i)] for i in idx]
    bad = [e for _, e in items if e]
    if bad:
        raise SirenError(bad[0])
    return torch.stack([img for img, _ in items])
