import json
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from siren.cli import main

TINY = ["--hidden-features", "16", "--hidden-layers", "1", "--no-progress"]


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "img.png"
    yy, xx = np.mgrid[0:16, 0:12]
    iio.imwrite(path, (127 + 100 * np.sin(yy / 3.0) * np.cos(xx / 2.0)).astype(np.uint8))
    return path


def test_fit_image_and_render(tmp_path, png):
    out = tmp_path / "run"
    assert main(["fit", "image", str(png), "--steps", "10", "--lr", "1e-3", "--out", str(out), *TINY]) == 0
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["psnr"] > 10 and 0 < m["ssim"] <= 1
    assert main(["render", str(out / "checkpoint.pt"), "--size", "40", "--out", str(tmp_path / "big.png")]) == 0
    assert iio.imread(tmp_path / "big.png").shape == (40, 30)


@pytest.mark.parametrize("dtype,mode", [(np.uint16, "L"), (np.uint8, "RGB"), (np.uint8, "RGBA")])
def test_fit_image_bit_depths_and_channels(tmp_path, capsys, dtype, mode):
    rng = np.random.default_rng(0)
    shape = (8, 8) if mode == "L" else (8, 8, len(mode))
    img = rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)
    iio.imwrite(tmp_path / "x.png", img)
    assert main(["fit", "image", str(tmp_path / "x.png"), "--steps", "2", "--out", str(tmp_path / "r"), *TINY]) == 0
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["model"]["out_features"] == (1 if mode == "L" else 3)
    if mode == "RGBA":
        assert "alpha channel dropped" in capsys.readouterr().err


def test_missing_file(tmp_path, cli_error):
    assert "not found" in cli_error(["fit", "image", str(tmp_path / "nope.png"), "--out", str(tmp_path / "o")])


def test_not_an_image(tmp_path, cli_error):
    (tmp_path / "a.png").write_text("hello, not a picture")
    assert "cannot read" in cli_error(["fit", "image", str(tmp_path / "a.png"), "--out", str(tmp_path / "o")])


def test_empty_file(tmp_path, cli_error):
    (tmp_path / "e.png").write_bytes(b"")
    assert "cannot read" in cli_error(["fit", "image", str(tmp_path / "e.png"), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("shape", [(1, 1), (1, 5)])
def test_tiny_image(tmp_path, shape, cli_error):
    iio.imwrite(tmp_path / "p.png", np.zeros(shape, np.uint8))
    assert "at least 2x2" in cli_error(["fit", "image", str(tmp_path / "p.png"), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_nonpositive_steps(tmp_path, png, steps, cli_error):
    assert "steps must be positive" in cli_error(["fit", "image", str(png), "--steps", steps, "--out", str(tmp_path / "o")])


def test_existing_out_folder(tmp_path, png, cli_error):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "precious.txt").write_text("keep")
    assert "--overwrite" in cli_error(["fit", "image", str(png), "--out", str(tmp_path / "o")])
    assert (tmp_path / "o" / "precious.txt").read_text() == "keep"


def test_unknown_model(tmp_path, png, cli_error):
    assert "--model 'gelu' is not a registered model (choose from siren," in cli_error(["fit", "image", str(png), "--model", "gelu", "--out", str(tmp_path / "o")])


def test_corrupt_checkpoint(tmp_path, cli_error):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x00garbage" * 10)
    assert "corrupt" in cli_error(["render", str(tmp_path / "checkpoint.pt"), "--size", "8", "--out", str(tmp_path / "x.png")])
    assert "corrupt" in cli_error(["render", str(tmp_path), "--size", "8", "--out", str(tmp_path / "x.png")])


def test_resume_without_checkpoint(tmp_path, png, cli_error):
    assert "nothing to resume" in cli_error(["fit", "image", str(png), "--resume", "--out", str(tmp_path / "o")])


def test_bad_flag_is_one_line(tmp_path, cli_error):
    assert "unrecognized" in cli_error(["fit", "image", "--bogus", "--out", str(tmp_path)])


def test_console_script_has_no_traceback(tmp_path):
    """The installed entry point, as a user runs it."""
    p = subprocess.run([sys.executable, "-m", "siren.cli", "fit", "image", str(tmp_path / "missing.png"),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr


def test_stats_command(tmp_path):
    assert main(["stats", "--out", str(tmp_path / "s"), "--hidden-features", "2048", "--hidden-layers", "3", "--points", "256"]) == 0
    s = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert len(s["siren"]["layers"]) == 4 and (tmp_path / "s" / "activations.png").stat().st_size > 10_000
    assert max(l["ks_preactivation"] for l in s["siren"]["layers"][1:]) < 0.05
    assert min(l["ks_preactivation"] for l in s["naive"]["layers"][1:]) > 0.3


@pytest.mark.parametrize("flags,msg", [(["--device", "bogus"], "unknown device"),
                                       (["--clip-grad", "-1"], "clipping norm must be positive")])
def test_bad_training_options(tmp_path, png, cli_error, flags, msg):
    assert msg in cli_error(["fit", "image", str(png), *flags, "--steps", "1", "--out", str(tmp_path / "o")])


def test_errors_name_the_field_in_python_and_the_flag_on_the_command_line(tmp_path, cli_error):
    from siren.errors import SirenError
    from siren.tasks.fit_image import ImageConfig, ImageFitTask
    with pytest.raises(SirenError) as e:
        ImageFitTask.from_config(ImageConfig(demo="cameraman", size=8, batch=-1))
    assert str(e.value) == "batch must be 0 (every pixel) or positive, got -1" and e.value.field == "batch"
    assert cli_error(["fit", "image", "--demo", "cameraman", "--size", "8", "--batch", "-1", "--out",
                      str(tmp_path / "o")]) == "error: --batch must be 0 (every pixel) or positive, got -1"
    assert cli_error(["helmholtz", "--k", "-1", "--out", str(tmp_path / "o")]).startswith("error: --k must be")


def test_commands_that_do_not_train_reject_unknown_flags(tmp_path, cli_error):
    assert "unrecognized arguments: --size" in cli_error(["stats", "--size", "3", "--out", str(tmp_path / "s")])
    assert "unrecognized arguments: --bogus" in cli_error(["fit", "image", "--demo", "cameraman", "--bogus",
                                                           "--out", str(tmp_path / "o")])
