"""siren.viz.fields: the difference's display gain and the video frame layout."""
from __future__ import annotations

import numpy as np

from siren.viz.fields import difference_gain, video_frame


def test_difference_gain_is_the_largest_power_of_ten_that_fits():
    ref = np.ones((2, 4, 4))
    assert difference_gain(ref + 0.003, ref) == 100           # 0.003 x 100 <= 1 < 0.003 x 1000
    assert difference_gain(ref + 0.5, ref) == 1
    assert difference_gain(ref, ref) == 1 and difference_gain(ref + 1e-9, ref) == 1000


def test_video_frame_is_three_panels_with_white_gaps():
    u = np.zeros((64, 48))
    u[-1, 0] = 1.0                                             # x = +1, y = -1: the bottom right pixel
    frame = video_frame(u, u)
    gap = 2                                                    # max(2, n // 32) white columns between panels
    assert frame.shape == (48, 3 * 64 + 2 * gap, 3) and frame.min() >= 0 and frame.max() <= 1
    assert np.all(frame[:, 64:64 + gap] == 1)
    red, rest = frame[-1, 63], frame[:-1, :63].reshape(-1, 3)  # RdBu_r: +peak dark red, 0 near white
    assert red[0] > 2 * red[2] and np.all(rest > 0.9)
