import imageio.v3 as iio
import numpy as np

from siren.data.image import image_files


def test_image_files_natural_order_skips_hidden_and_other_files(tmp_path):
    for name in ["f10.png", "f2.png", "f1.jpg", ".hidden.png", "notes.txt"]:
        iio.imwrite(tmp_path / name, np.zeros((2, 2), np.uint8)) if name.endswith(("png", "jpg")) \
            else (tmp_path / name).write_text("x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in image_files(tmp_path)] == ["f1.jpg", "f2.png", "f10.png"]
