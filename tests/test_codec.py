"""siren.codec: the .sirz container, quantization, entropy coding, the encoder's budget and the CLI (32 px)."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch

from siren.cli import main
from siren.codec import EncoderConfig, VERSION, compress, decompress, unpack
from siren.codec import entropy
from siren.codec.encode import allocate
from siren.codec.entropy import levels
from siren.codec.quantize import dequantize, fake_quantize, quantize, step_for
from siren.data.image import save_image
from siren.errors import SirenError

FAST = EncoderConfig(steps=40, qat_steps=10, lr=3e-3)


def _image(size: int = 32) -> np.ndarray:
    """A smooth synthetic RGB image (H, W, 3) in [0, 1], quantized to 8 bits."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    img = np.stack([0.5 + 0.4 * np.sin(3 * x + 2 * y), 0.5 + 0.3 * np.cos(4 * y), x * y], axis=-1)
    return np.round(img * 255) / 255


@pytest.fixture(scope="module")
def encoded():
    return compress(_image(), bpp=4.0, config=FAST)


def test_round_trip_is_exact_and_within_budget(encoded):
    img = _image()
    assert len(encoded.data) <= int(4.0 * 32 * 32 / 8)
    assert encoded.bpp == pytest.approx(8 * len(encoded.data) / (32 * 32))
    again = decompress(encoded.data)
    assert again.dtype == np.uint8 and again.shape == (32, 32, 3)
    np.testing.assert_array_equal(again, encoded.image)
    mse = np.mean((again / 255.0 - img) ** 2)
    assert encoded.psnr == pytest.approx(10 * np.log10(1 / mse))
    assert encoded.psnr > 10


def test_header_names_the_network_and_image(encoded):
    header, _ = unpack(encoded.data)
    assert header.size == (32, 32) and header.channels == 3
    assert header.model["name"] == "siren" and header.model["options"]["hidden_layers"] == 3
    assert header.coder in entropy.CODERS


def test_decompress_any_resolution(encoded):
    assert decompress(encoded.data, size=80).shape == (80, 80, 3)
    assert decompress(encoded.data, size=32).tobytes() == encoded.image.tobytes()


def test_corrupted_byte_fails_the_checksum(encoded):
    bad = bytearray(encoded.data)
    bad[len(bad) // 2] ^= 0x10
    with pytest.raises(SirenError, match="checksum"):
        decompress(bytes(bad))


def test_truncated_file_is_refused(encoded):
    for cut in (len(encoded.data) - 7, 12, 3):
        with pytest.raises(SirenError) as e:
            decompress(encoded.data[:cut])
        assert "\n" not in str(e.value)


def test_newer_version_is_refused_by_number(encoded):
    bad = bytearray(encoded.data)
    bad[4] = VERSION + 1
    body = bytes(bad[:-4])
    with pytest.raises(SirenError, match=f"format version {VERSION + 1} is newer than this library reads "
                                         f"\\({VERSION}\\)"):
        decompress(body + struct.pack("<I", zlib.crc32(body)))


def test_not_a_sirz_file():
    with pytest.raises(SirenError, match="not a .sirz file"):
        decompress(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)


def test_budget_is_met_at_a_low_rate():
    enc = compress(_image(), bpp=1.5, config=FAST)
    assert len(enc.data) <= int(1.5 * 32 * 32 / 8)
    np.testing.assert_array_equal(decompress(enc.data), enc.image)


def test_unreachable_budget_is_one_line():
    with pytest.raises(SirenError, match="raise --bpp") as e:
        compress(_image(), bpp=0.05, config=FAST)
    assert "\n" not in str(e.value)


def test_psnr_target_picks_a_rate():
    enc = compress(_image(), psnr=12.0, config=EncoderConfig(steps=30, qat_steps=5, lr=3e-3))
    assert enc.psnr >= 12.0 and len(enc.data) <= int(8.0 * 32 * 32 / 8)


@pytest.mark.parametrize("bits", [2, 4, 6, 8, 12])
def test_quantization_error_is_at_most_half_a_step(bits):
    w = torch.randn(37, 11) * 0.3
    s = step_for(w, bits)
    assert np.float16(s) == s and s * levels(bits) >= float(w.abs().max())
    q = quantize(w, s, bits)
    assert int(q.abs().max()) <= levels(bits)
    assert float((w - dequantize(q, s, w)).abs().max()) <= s / 2 + 1e-7


def test_fake_quantize_is_straight_through():
    w = (torch.randn(5, 4) * 0.2).requires_grad_()
    s = step_for(w, 5)
    out = fake_quantize(w, s, 5)
    torch.testing.assert_close(out.detach(), dequantize(quantize(w, s, 5), s, w))
    out.sum().backward()
    torch.testing.assert_close(w.grad, torch.ones_like(w))


def test_complex_tensors_quantize_as_their_real_view():
    w = torch.randn(3, 4, dtype=torch.cfloat)
    s = step_for(w, 6)
    back = dequantize(quantize(w, s, 6), s, w)
    assert back.is_complex() and back.shape == w.shape
    assert float((torch.view_as_real(w) - torch.view_as_real(back)).abs().max()) <= s / 2 + 1e-7


@pytest.mark.parametrize("coder", entropy.CODERS)
@pytest.mark.parametrize("bits", [4, 7, 8])
def test_entropy_coders_round_trip(coder, bits):
    rng = np.random.default_rng(bits)
    lim = levels(bits)
    q = np.clip(np.round(rng.laplace(0, lim / 5, 3001)), -lim, lim).astype(np.int64)
    q[:3] = [-lim, lim, 0]
    wide = np.arange(-levels(12), levels(12) + 1)[::7]
    tensors, widths = [q, wide, q[:100]], [bits, 12, bits]
    data = entropy.encode(tensors, widths, coder)
    for a, b in zip(entropy.decode(data, [t.size for t in tensors], widths, coder), tensors):
        np.testing.assert_array_equal(a, b)


def test_arithmetic_coding_beats_raw_bits_on_peaked_symbols():
    rng = np.random.default_rng(0)
    q = np.clip(np.round(rng.laplace(0, 3, 4000)), -31, 31).astype(np.int64)
    assert len(entropy.encode([q], [6], "arith")) < 0.8 * len(entropy.encode([q], [6], "raw"))
    assert entropy.best([q], [6])[0] == "arith"


def test_allocation_gives_bits_to_sensitive_tensors_within_the_total():
    sizes = {"first": 20, "hidden": 400, "bias": 20}
    bits = allocate({"first": 1.0, "hidden": 1e-3, "bias": 1e-2}, sizes, 5 * 440)
    assert sum(sizes[k] * bits[k] for k in sizes) <= 5 * 440
    assert bits["first"] > bits["bias"] > bits["hidden"]


def test_encoder_reports_the_bits_it_stored(encoded):
    from siren.codec.siren_file import TABLE
    header, payload = unpack(encoded.data)
    table = np.frombuffer(payload[:3 * len(encoded.bits)], dtype=TABLE)
    assert table["bits"].tolist() == encoded.bits


def test_cli_round_trip_and_errors(tmp_path, capsys):
    src, sirz, png = tmp_path / "in.png", tmp_path / "x.sirz", tmp_path / "out.png"
    save_image(src, _image())
    assert main(["compress", str(src), "--method", "siren", "--bpp", "4", "--out", str(sirz), "--steps", "30",
                 "--qat-steps", "5", "--quiet"]) == 0
    assert "bpp" in capsys.readouterr().out
    assert main(["decompress", str(sirz), "--out", str(png), "--size", "48"]) == 0
    import imageio.v3 as iio
    assert iio.imread(png).shape == (48, 48, 3)
    capsys.readouterr()
    bad = bytearray(sirz.read_bytes())
    bad[20] ^= 0xFF
    sirz.write_bytes(bytes(bad))
    assert main(["decompress", str(sirz), "--out", str(png)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "checksum" in err and "\n" not in err
    assert main(["compress", str(tmp_path / "missing.png"), "--bpp", "1", "--out", str(sirz)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_grayscale_round_trip():
    img = _image()[..., :1]
    enc = compress(img, bpp=3.0, config=FAST)
    assert enc.image.shape == (32, 32, 1) and len(enc.data) <= int(3.0 * 32 * 32 / 8)
    np.testing.assert_array_equal(decompress(enc.data), enc.image)


def test_other_families_encode():
    enc = compress(_image(16), bpp=8.0, config=EncoderConfig(model="finer", hidden_layers=1, steps=10, qat_steps=2))
    assert unpack(enc.data)[0].model["name"] == "finer"
    np.testing.assert_array_equal(decompress(enc.data), enc.image)


def test_decoding_ignores_the_global_matmul_precision(encoded):
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        np.testing.assert_array_equal(decompress(encoded.data), encoded.image)
    finally:
        torch.set_float32_matmul_precision(before)
    assert torch.get_float32_matmul_precision() == before
