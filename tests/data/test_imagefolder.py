"""Image-folder dataset for priors: square crops, lazy loading, the held-out split, the demo set split by
photograph, and step-indexed batches (the same images after a resume, with or without loader workers)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from siren.data.image import save_image
from siren.data.imagefolder import (DEMO_TEST, ImageFiles, StepBatches, demo_crops, demo_split, folder_split,
                                    square_image, step_loader)
from siren.errors import SirenError


def _folder(tmp_path, n, size=(12, 20), gray_every=3):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = size if i % gray_every == 0 else (*size, 3)
        save_image(folder / f"img{i}.png", rng.random(shape))
    return folder


def test_square_image_crops_the_centre_and_makes_rgb():
    img = np.zeros((10, 30, 1))
    img[:, 10:20] = 1.0                                  # the centre square is white, the sides black
    out = square_image(img, 5)
    assert out.shape == (5, 5, 3) and out.dtype == np.float32
    assert np.allclose(out, 1.0, atol=1e-3)              # only the centre survives; gray -> 3 equal channels
    tall = np.random.default_rng(0).random((40, 8, 3))
    assert square_image(tall, 8).shape == (8, 8, 3)
    np.testing.assert_allclose(square_image(tall, 8), tall[16:24], atol=1e-6)   # same size: a pure crop
    with pytest.raises(SirenError, match="at least 2"):
        square_image(img, 1)


def test_folder_split_holds_out_every_tenth_file_and_loads_lazily(tmp_path):
    split = folder_split(_folder(tmp_path, 21), size=6)
    assert (len(split.train), len(split.test)) == (19, 2)
    assert [split.test.name(i) for i in range(2)] == ["img9.png", "img19.png"]        # natural order, 10th, 20th
    assert isinstance(split.train, ImageFiles)
    img, err = split.train[0]
    assert img.shape == (6, 6, 3) and err == "" and -1 <= img.min() and img.max() <= 1
    assert split.describe() == {"source": str(tmp_path / "imgs"), "split": "every 10th file in name order held out",
                                "train": 19, "test": 2}


def test_small_folder_holds_out_its_last_file_and_celeba_partition_is_used(tmp_path):
    folder = _folder(tmp_path, 3)
    split = folder_split(folder, 4)
    assert (len(split.train), split.test.name(0)) == (2, "img2.png")
    (tmp_path / "list_eval_partition.txt").write_text("img0.png 2\nimg1.png 0\nimg2.png 1\n")   # next to it
    split = folder_split(folder, 4)
    assert [split.train.name(0), split.test.name(0)] == ["img1.png", "img0.png"] and len(split.train) == 1
    assert split.rule.startswith("list_eval_partition.txt")


def test_bad_folders_are_one_line_errors(tmp_path):
    with pytest.raises(SirenError, match="not a folder"):
        folder_split(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SirenError, match="no images in"):
        folder_split(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(3):
        (bad / f"x{i}.png").write_text("not an image")
    with pytest.raises(SirenError, match="no readable image in .*3 image file"):
        folder_split(bad)
    one = tmp_path / "one"
    one.mkdir()
    save_image(one / "a.png", np.zeros((4, 4)))
    with pytest.raises(SirenError, match="at least 2"):
        folder_split(one)


def test_an_unreadable_file_among_good_ones_is_reported_by_name(tmp_path):
    folder = _folder(tmp_path, 3)
    (folder / "img1.png").write_text("broken")
    split = folder_split(folder, 4)
    img, err = split.train[1]
    assert "img1.png" in err and "\n" not in err and torch.equal(img, torch.zeros(4, 4, 3))


def test_demo_set_is_split_by_photograph_with_the_documented_size():
    images, names = demo_crops(32)
    assert images.shape == (1644, 32, 32, 3) and len(names) == 1644
    assert -1 <= images.min() and images.max() <= 1
    split = demo_split(32)
    assert (len(split.train), len(split.test)) == (1204, 440)
    train_photos = {n.split("/")[0] for n in split.train.names}
    test_photos = {n.split("/")[0] for n in split.test.names}
    assert test_photos == set(DEMO_TEST) and not train_photos & test_photos and len(train_photos) == 14
    small = demo_split(8)
    assert small.train.images.shape[1:] == (8, 8, 3) and len(small.test) == 440


def test_step_batches_depend_only_on_seed_and_step():
    sampler = StepBatches(10, 4, seed=3)
    stream = iter(sampler)
    batches = [next(stream) for _ in range(5)]
    assert sorted(batches[0] + batches[1] + batches[2][:2]) == list(range(10))   # epoch 0 is a permutation
    assert batches[3] == sampler.batch(3) == next(iter(StepBatches(10, 4, seed=3, start=3)))
    assert batches[0] != StepBatches(10, 4, seed=4).batch(0)


def test_loader_with_workers_gives_the_same_batches(tmp_path):
    split = folder_split(_folder(tmp_path, 7), size=4)
    main = step_loader(split.train, 3, seed=1, start=2, workers=0)
    workers = step_loader(split.train, 3, seed=1, start=2, workers=1)
    for _ in range(3):
        (a, ea), (b, eb) = next(main), next(workers)
        assert a.shape == (3, 4, 4, 3) and torch.equal(a, b) and ea == eb == ("", "", "")
