"""Image sets that ship with packages (`siren.data.packaged`): scikit-image's faces, Fashion-MNIST from the Debian
package when installed (skipped otherwise), and `--dataset` on the training commands."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from siren.cli import main
from siren.data import packaged
from siren.data.packaged import FASHION_MNIST, packaged_split, read_idx
from siren.errors import SirenError


def test_faces_are_the_lfw_face_crops_split_every_tenth():
    import skimage.data
    split = packaged_split("faces", 8)
    assert (len(split.train), len(split.test)) == (90, 10) and split.test.names[0] == "face9"
    img, err = split.test[0]
    assert err == "" and img.shape == (8, 8, 3) and img.min() >= -1 and img.max() <= 1
    torch.testing.assert_close(img[..., 0], img[..., 2])                       # gray repeated to RGB
    full = packaged_split("faces", 25).test[0][0][..., 0].numpy()             # no resize at the native size
    np.testing.assert_allclose(full, 2 * skimage.data.lfw_subset()[9] - 1, atol=1e-6)


def test_read_idx(tmp_path):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in data.shape) + data.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), data)


@pytest.mark.skipif(not (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package():
    split = packaged_split("fashion-mnist", 8)
    assert (len(split.train), len(split.test)) == (60_000, 10_000)
    assert split.train[0][0].shape == (8, 8, 3)


def test_dataset_errors_and_a_tiny_meta_run(tmp_path, monkeypatch, cli_error):
    monkeypatch.setattr(packaged, "FASHION_MNIST", tmp_path / "none")
    with pytest.raises(SirenError, match="apt install dataset-fashion-mnist"):
        packaged_split("fashion-mnist")
    tiny = ["--size", "8", "--batch-size", "2", "--inner-steps", "1", "--hidden-features", "8", "--hidden-layers", "1",
            "--steps", "1", "--no-progress", "--no-report", "--device", "cpu"]
    assert "not both" in cli_error(["meta", "train", "--demo", "--dataset", "faces", *tiny, "--out",
                                       str(tmp_path / "o")])
    assert main(["meta", "train", "--dataset", "faces", *tiny, "--out", str(tmp_path / "run")]) == 0
