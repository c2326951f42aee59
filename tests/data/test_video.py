import imageio.v3 as iio
import numpy as np
import pytest

from siren import metrics
from siren.data.video import (FRACTION, MIN_SAMPLES, demo_video, load_video, moving_pattern, resize_video,
                              samples_per_step, save_video, to_float_video, video_signal)
from siren.errors import SirenError


def test_npy_int_and_grayscale(tmp_path):
    v = np.arange(3 * 4 * 5 * 3, dtype=np.uint8).reshape(3, 4, 5, 3)
    np.save(tmp_path / "v.npy", v)
    frames, fps = load_video(tmp_path / "v.npy")
    assert frames.shape == (3, 4, 5, 3) and frames.dtype == np.float32 and fps == 25.0
    np.testing.assert_allclose(frames, v / 255.0, atol=1e-7)
    np.save(tmp_path / "g.npy", v[..., 0])
    assert load_video(tmp_path / "g.npy")[0].shape == (3, 4, 5, 1)
    assert load_video(tmp_path / "v.npy", max_frames=2)[0].shape == (2, 4, 5, 3)


def test_float_range_is_normalised_over_the_whole_clip():
    v = np.stack([np.full((4, 4), 2.0), np.full((4, 4), 4.0)])  # one range for all frames, not one per frame
    np.testing.assert_allclose(to_float_video(v)[:, 0, 0, 0], [0.0, 1.0])


def test_folder_natural_order_and_mismatch(tmp_path):
    for i in (1, 2, 10):  # name order would put frame10 before frame2
        iio.imwrite(tmp_path / f"frame{i}.png", np.full((6, 8), 20 * i, dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    frames, _ = load_video(tmp_path)
    np.testing.assert_allclose(frames[:, 0, 0, 0] * 255, [20, 40, 200], atol=1e-4)
    iio.imwrite(tmp_path / "frame11.png", np.zeros((7, 8), dtype=np.uint8))
    with pytest.raises(SirenError, match="differ in size: frame1.png is 8x6x1 but frame11.png is 8x7x1"):
        load_video(tmp_path)


def test_mp4_round_trip_streams_frames(tmp_path):
    v = moving_pattern(frames=6, size=32).mean(-1, keepdims=True).repeat(3, -1)  # gray: H.264 4:2:0 halves colour
    assert save_video(tmp_path / "v.mp4", iter(v), fps=12.0) == 6                # resolution, brightness survives
    frames, fps = load_video(tmp_path / "v.mp4")
    assert frames.shape == (6, 32, 32, 3) and fps == pytest.approx(12.0)
    assert metrics.psnr(frames, v) > 35
    assert load_video(tmp_path / "v.mp4", max_frames=3)[0].shape == (3, 32, 32, 3)


def test_save_video_pads_odd_sizes_and_gray(tmp_path):
    save_video(tmp_path / "o.mp4", np.full((3, 9, 11, 1), 0.5), fps=5)
    back = iio.imread(tmp_path / "o.mp4", index=None)
    assert back.shape == (3, 10, 12, 3)
    assert abs(back.mean() - 127.5) < 3


def test_gif_frame_rate_from_duration(tmp_path):
    iio.imwrite(tmp_path / "a.gif", (moving_pattern(4, 16) * 255).astype(np.uint8), duration=50, loop=0)
    frames, fps = load_video(tmp_path / "a.gif")
    assert frames.shape == (4, 16, 16, 3) and fps == pytest.approx(20.0)


def test_signal_and_resize():
    v = moving_pattern(frames=4, size=20)
    sig = video_signal(v, 30.0, source="p")
    assert sig.kind == "video" and sig.shape == (4, 20, 20) and sig.channels == 3 and sig.meta["fps"] == 30.0
    assert sig.values.min() >= -1 and sig.values.max() <= 1
    assert resize_video(v, 10).shape == (4, 10, 10, 3)


def test_samples_per_step_rule():
    assert samples_per_step(16 * 64 * 64) == 16 * 64 * 64              # small clip: all voxels (minimum 65,536)
    assert samples_per_step(1000, minimum=100) == 100
    assert samples_per_step(250 * 272 * 640) == int(np.ceil(FRACTION * 250 * 272 * 640))  # paper: 0.38%
    assert samples_per_step(10 ** 6) == MIN_SAMPLES
    for bad in ({"fraction": 0.0}, {"fraction": 1.5}, {"minimum": 0}):
        with pytest.raises(SirenError):
            samples_per_step(100, **bad)


@pytest.mark.parametrize("case,match", [("empty_npy", "0 frames"), ("one_frame", "at least 2"),
                                        ("empty_mp4", "cannot read"), ("text_mp4", "cannot read"),
                                        ("empty_dir", "no image frames"), ("missing", "not found"),
                                        ("bad_shape", "not a video"), ("nan", "contains 2 NaN or infinite values"),
                                        ("inf", "contains 1 NaN or infinite values")])
def test_bad_video(tmp_path, case, match):
    path = tmp_path / "v.npy"
    if case == "empty_npy":
        np.save(path, np.zeros((0, 8, 8, 3), dtype=np.uint8))
    elif case == "one_frame":
        np.save(path, np.zeros((1, 8, 8, 3), dtype=np.uint8))
    elif case == "bad_shape":
        np.save(path, np.zeros((2, 8, 8, 5), dtype=np.uint8))
    elif case in ("nan", "inf"):
        clip = np.random.default_rng(0).random((3, 8, 8, 3))
        clip[1, 2, 3] = [np.nan, 0.5, np.nan] if case == "nan" else [0.5, -np.inf, 0.5]
        np.save(path, clip)
    elif case.endswith("mp4"):
        path = tmp_path / "v.mp4"
        path.write_bytes(b"" if case == "empty_mp4" else b"not a video at all")
    elif case == "empty_dir":
        path = tmp_path / "frames"
        path.mkdir()
    with pytest.raises(SirenError, match=match):
        load_video(path)


def test_demo_video_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("siren.data.video.DEMO", ("no_such_package_here", "a.mp4"))
    with pytest.raises(SirenError, match="siren-inr\\[demo\\]"):
        demo_video()
