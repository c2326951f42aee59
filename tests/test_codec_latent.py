"""siren.codec, the latent-grid codec (format 2): exact decoding under any thread count and matmul precision, the
rate term as a real bit count, targets, bad input, the CLI (24 px images, tens of steps)."""
from __future__ import annotations

import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from siren.cli import main
from siren.codec import LatentConfig, compress, decompress
from siren.codec import VERSION, exact, laplace, latent_code
from siren.codec.latent import Arch, LatentImage
from siren.codec.latent_encode import quantize_network
from siren.data.image import save_image
from siren.errors import SirenError

TINY = LatentConfig(steps=40, qat_steps=10, lmbda=1e-3)


def _load(model: LatentImage, q: dict) -> None:
    """The model's network <- the quantized weights q (k steps of 2^-k)."""
    params = dict(model.named_parameters())
    for name, (w, k) in q.items():
        params[name].data.copy_(torch.from_numpy(w * 2.0 ** -k).to(params[name].dtype))


def _image(h: int = 24, w: int = 20) -> np.ndarray:
    """A smooth synthetic RGB image (H, W, 3) in [0, 1], quantized to 8 bits."""
    y, x = np.mgrid[0:h, 0:w] / (max(h, w) - 1)
    img = np.stack([0.5 + 0.4 * np.sin(5 * x + 2 * y), 0.5 + 0.3 * np.cos(6 * y), x * y], axis=-1)
    return np.round(img * 255) / 255


@pytest.fixture(scope="module")
def encoded():
    return compress(_image(), config=TINY)


def test_round_trip_is_exact_and_reported(encoded):
    assert encoded.data[4] == 2 and encoded.image.shape == (24, 20, 3)
    np.testing.assert_array_equal(decompress(encoded.data), encoded.image)
    mse = np.mean((encoded.image / 255.0 - _image()) ** 2)
    assert encoded.psnr == pytest.approx(10 * np.log10(1 / mse)) and encoded.psnr > 15
    assert encoded.bpp == pytest.approx(8 * len(encoded.data) / (24 * 20))


def test_decoding_ignores_threads_and_matmul_precision(encoded, tmp_path):
    """Fresh processes with 1, then 2 BLAS and PyTorch threads and "medium" float32 matmul precision decode the same
    pixels."""
    import os
    (tmp_path / "x.sirz").write_bytes(encoded.data)
    np.save(tmp_path / "ref.npy", encoded.image)
    for n in (1, 2):
        script = ("import numpy as np, torch; torch.set_float32_matmul_precision('medium'); "
                  f"torch.set_num_threads({n}); from siren.codec import decompress; "
                  "assert np.array_equal(decompress(open('x.sirz', 'rb').read()), np.load('ref.npy'))")
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr[-2000:]


def test_decompress_runs_without_pytorch(encoded, tmp_path):
    """`siren decompress` of a format-2 file never imports PyTorch (it starts in a fraction of a second) and writes
    the encoder's reconstruction."""
    (tmp_path / "x.sirz").write_bytes(encoded.data)
    script = ("import sys; from siren.cli import main; assert main(['decompress', 'x.sirz', '--out', 'y.png']) == 0; "
              "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    import imageio.v3 as iio
    np.testing.assert_array_equal(iio.imread(tmp_path / "y.png"), encoded.image)


def test_exact_decoder_follows_the_float_model():
    """The fixed-point NumPy evaluation (`exact`) of a model with random integer latents and quantized weights
    matches the float64 PyTorch model (`LatentImage`) within its rounding: the features within 2^-FRAC, the pixels
    within one level, the entropy model's quantized parameters equal but where a value sits at a rounding boundary;
    and both name the network's tensors alike."""
    torch.manual_seed(3)
    model = LatentImage(Arch(grids=4, width=12, arm=8, arm_layers=2, convs=2), (23, 18)).double()
    with torch.no_grad():
        for g in model.latents:
            g.copy_(torch.round(torch.randn(g.shape) * 3))
        for name, p in model.named_parameters():
            if not name.startswith("latents"):
                p.copy_(torch.randn(p.shape) * 0.3)
    q = quantize_network(model, {n: 12 for n, _ in model.arch.tensors()})
    _load(model, q)
    y = [g.detach().numpy() for g in model.latents]
    feats = exact.features(y, model.size)
    with torch.no_grad():
        ref = model.synthesize(model.features(list(model.latents))).numpy()
        ctx = model.contexts(list(model.latents))
        mu, lb = model.arm(ctx)
    np.testing.assert_allclose(feats / 2.0 ** exact.FRAC, model.features(list(model.latents)).detach().numpy(),
                               atol=2.0 ** -exact.FRAC)
    got = exact.pixels(model.arch, q, feats).astype(np.float64)
    assert np.abs(got - np.clip(np.round(ref * 255).transpose(1, 2, 0), 0, 255)).max() <= 1
    rows, m = exact.arm_indices(model.arch, q, ctx.numpy())
    want = laplace.index(np.floor(mu.numpy() * laplace.MEAN_STEPS + 0.5), np.floor(lb.numpy() * laplace.SCALE_STEPS
                                                                                      + 0.5))
    assert np.mean(rows == want[0]) > 0.97 and np.mean(m == want[1]) > 0.97
    assert [(n, tuple(p.shape)) for n, p in model.named_parameters() if not n.startswith("latents")] == \
        model.arch.tensors()


def test_rate_term_counts_the_coded_bits():
    """The entropy model's bits for integer latents (float, as in the loss) match the range coder's output."""
    torch.manual_seed(0)
    model = LatentImage(Arch(grids=4, width=4, arm=6, arm_layers=1, convs=0), (24, 20))
    with torch.no_grad():
        for g in model.latents:
            g.copy_(torch.round(torch.randn(g.shape) * 3))
        model.entropy[-1].bias.copy_(torch.tensor([0.0, 1.5]))
    q = quantize_network(model, {n: 12 for n, _ in model.arch.tensors()})
    _load(model, q)                                     # the float model with the stored weights
    with torch.no_grad():
        estimate = float(model.rate([g.detach() for g in model.latents]))
    coded = 8 * len(latent_code.encode_latents(model.arch, q, [g.detach().numpy() for g in model.latents]))
    assert estimate > 500 and abs(coded - estimate) <= 0.03 * estimate + 64


def test_latents_decode_as_coded():
    torch.manual_seed(1)
    model = LatentImage(Arch(grids=3, width=4, arm=5, arm_layers=2, convs=1), (9, 13))
    latents = [torch.round(torch.randn(s) * 4).clamp(-laplace.LIMIT, laplace.LIMIT)
               for s in [g.shape for g in model.latents]]
    q = quantize_network(model, {n: 10 for n, _ in model.arch.tensors()})
    back = latent_code.decode_latents(model.arch, model.size, q,
                                      latent_code.encode_latents(model.arch, q, [g.numpy() for g in latents]))
    for a, b in zip(back, latents):
        np.testing.assert_array_equal(a, b.numpy())


def test_deterministic_exp_and_tables():
    x = np.linspace(-60, 10, 1001)
    np.testing.assert_allclose(laplace.exp(x), np.exp(x), rtol=4e-16)
    t = laplace.table()
    assert t.shape == (laplace.MEAN_STEPS * (laplace.T_MAX - laplace.T_MIN + 1), 2 * laplace.SPAN + 1)
    assert np.all(t == np.round(t)) and np.all(t.sum(1) <= 2 ** laplace.PRECISION + t.shape[1])
    narrow = laplace.index(np.zeros(1), np.array([2 * laplace.SCALE_STEPS]))[0]        # b = 4: all mass in range
    assert abs(t[narrow].sum() - 2 ** laplace.PRECISION) < t.shape[1]


def test_other_size_and_grayscale(encoded):
    assert decompress(encoded.data, size=48).shape == (48, 40, 3)
    gray = compress(_image()[..., :1], config=LatentConfig(steps=10, qat_steps=2, lmbda=1e-3))
    assert gray.image.shape == (24, 20, 1)
    np.testing.assert_array_equal(decompress(gray.data), gray.image)


def test_bpp_target_is_aimed_at():
    enc = compress(_image(32, 32), bpp=3.0, config=LatentConfig(steps=60, qat_steps=10))
    assert 0.75 * 3.0 <= enc.bpp <= 1.25 * 3.0
    np.testing.assert_array_equal(decompress(enc.data), enc.image)


def test_the_time_limit_stops_the_rate_search():
    """A bpp target far from where 30 steps can aim retries the search; with no time left it keeps the first file
    (the one nearest the target of those tried) and says so."""
    lines = {}
    for limit in (None, 0.0):
        log = []
        enc = compress(_image(32, 32), bpp=4.5, config=LatentConfig(steps=30, time_limit=limit), log=log.append)
        lines[limit] = [s for s in log if s.startswith("coded:")]
        np.testing.assert_array_equal(decompress(enc.data), enc.image)
    assert len(lines[None]) > 1 and len(lines[0.0]) == 1
    assert lines[None][0] == lines[0.0][0]


def test_progress_follows_the_training_steps():
    seen = []
    compress(_image(), config=LatentConfig(steps=30, qat_steps=5, lmbda=1e-3), progress=lambda d, e: seen.append((d, e)))
    assert seen[0] == (10, 35) and seen[-1] == (35, 35)
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:])) and all(d <= e for d, e in seen)


@pytest.mark.parametrize("bad, match", [
    (dict(img=np.zeros((1, 1, 3)), bpp=1.0), "needs sides"),
    (dict(bpp=0.0), "bpp must be positive"),
    (dict(bpp=-1.0), "bpp must be positive"),
    (dict(psnr=80.0), "psnr must be in"),
    (dict(bpp=0.01), "raise --bpp"),
    (dict(), "give one of"),
])
def test_bad_input_is_refused_in_one_line(bad, match):
    img = bad.pop("img", _image())
    with pytest.raises(SirenError, match=match) as e:
        compress(img, **bad, config=LatentConfig(steps=1, qat_steps=1))
    assert "\n" not in str(e.value)


def test_damaged_and_newer_files_are_refused(encoded):
    bad = bytearray(encoded.data)
    bad[len(bad) // 2] ^= 0x20
    for data, match in [(bytes(bad), "checksum"), (encoded.data[:10], "truncated"), (encoded.data[:-9], "checksum")]:
        with pytest.raises(SirenError, match=match) as e:
            decompress(data)
        assert "\n" not in str(e.value)
    body = bytes([*b"SIRZ", VERSION + 1]) + encoded.data[5:-4]
    with pytest.raises(SirenError, match=f"format version {VERSION + 1} is newer"):
        decompress(body + struct.pack("<I", zlib.crc32(body)))


def test_the_best_warm_up_candidate_goes_on():
    """With 3 candidates the encoder logs each one's cost after the warm-up and goes on with the cheapest: the file
    equals a one-candidate run from that candidate's seed (the warm-up's steps are its first), with a fixed lambda
    and with a bpp target."""
    from dataclasses import replace
    import re
    for target in ({}, {"bpp": 1.5}):        # a fixed lambda; a bpp target (each candidate with its controller)
        lines = []
        config = replace(TINY, candidates=3, seed=5, lmbda=None if target else TINY.lmbda)
        many = compress(_image(), **target, config=config, log=lines.append)
        costs = [float(m.group(1)) for m in (re.search(r"candidate \d \(seed \d+\): J (\S+)", x) for x in lines)
                 if m]
        assert len(costs) == 3 and len(set(costs)) == 3
        for seed, same in ((5 + costs.index(min(costs)), True), (5 + costs.index(max(costs)), False)):
            alone = compress(_image(), **target, config=replace(config, candidates=1, seed=seed))
            assert (many.data == alone.data) == same


def test_the_rate_controller_keeps_lambda_within_bounds():
    """A model whose rate cannot follow (here: large fixed latents) moves lambda at most RATE_SPREAD (in log) from
    its start either way under a bpp target, however long the controller pushes (unbounded, --bpp 0.1 ran it up by
    10^17, or down by 10^15 after a collapse); under a PSNR target at most SPREAD up, and freely down."""
    from siren.codec.latent_encode import RATE_SPREAD, SPREAD, _Target
    model = LatentImage(Arch(grids=3, width=4, arm=4, arm_layers=1, convs=0), (12, 12))
    with torch.no_grad():
        for y in model.latents:
            y.fill_(20.0)
    target = torch.zeros(3, 12, 12)
    for bits, bound in ((1.0, RATE_SPREAD), (1e9, -RATE_SPREAD)):     # far below / above the model's rate
        lam = _Target(1e-2, bits, None, 0.0)
        for _ in range(200):
            lam.update(model, target)
        assert lam.log == pytest.approx(math.log(1e-2) + bound)
    for db, easy in ((200.0, False), (1.0, True)):                    # out of reach / met with room to spare
        lam = _Target(1e-2, None, db, 0.0)
        for _ in range(200):
            lam.update(model, target)
        if easy:
            assert lam.log == pytest.approx(math.log(1e-2) + SPREAD)
        else:
            assert lam.log < math.log(1e-2) - 2 * SPREAD


def test_the_entropy_model_is_fitted_to_the_rounded_latents_on_a_copy():
    """`_fit_entropy` lowers the rounded latents' bits (here from an untrained entropy model) and leaves the model
    it was given as it was; the copy's latents and synthesis are the model's."""
    from siren.codec.latent_encode import _fit_entropy
    torch.manual_seed(0)
    model = LatentImage(Arch(grids=3, width=4, arm=6, arm_layers=1, convs=1), (16, 20))
    with torch.no_grad():
        for y in model.latents:
            y.copy_(torch.randn(y.shape) * 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fitted = _fit_entropy(model)
    y = [torch.round(g.detach()) for g in model.latents]
    with torch.no_grad():
        assert float(fitted.rate(y)) < 0.8 * float(model.rate(y))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(torch.equal(v, fitted.state_dict()[k]) for k, v in before.items() if not k.startswith("entropy"))


def test_a_format_2_file_decodes_as_it_did():
    """A file written by an earlier version of this codec (format 2, before the phase-wise coder and the matrix
    upsampling) decodes to what that version decoded, bit for bit."""
    import imageio.v3 as iio
    data = Path(__file__).parent / "data" / "codec_v2"
    sirz = (data / "kodim23_64.sirz").read_bytes()
    assert sirz[4] == 2
    assert np.array_equal(decompress(sirz), iio.imread(data / "kodim23_64_decoded.png"))


def test_cli(tmp_path, capsys):
    src, sirz, png, txt = tmp_path / "in.png", tmp_path / "x.sirz", tmp_path / "out.png", tmp_path / "a.txt"
    save_image(src, _image())
    assert main(["compress", str(src), "--lmbda", "1e-3", "--steps", "20", "--qat-steps", "5",   # the default method
                 "--quiet", "--out", str(sirz)]) == 0
    assert "latent grids" in capsys.readouterr().out and sirz.read_bytes()[4] == 2
    assert main(["decompress", str(sirz), "--out", str(png), "--size", "30"]) == 0
    import imageio.v3 as iio
    assert iio.imread(png).shape == (30, 25, 3)
    txt.write_text("not an image file\n")
    one = tmp_path / "one.png"
    save_image(one, np.zeros((1, 1, 3)))
    for argv in (["decompress", str(txt), "--out", str(png)],
                 ["compress", "--method", "latent", str(src), "--bpp", "0", "--out", str(sirz)],
                 ["compress", "--method", "latent", str(src), "--psnr", "80", "--out", str(sirz)],
                 ["compress", "--method", "latent", str(one), "--bpp", "1", "--out", str(sirz)],
                 ["compress", "--method", "latent", str(src), "--bpp", "1", "--model", "finer", "--out", str(sirz)],
                 ["compress", str(src), "--bpp", "1", "--out", str(txt / "x.sirz")]):     # checked before the encode
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err, (argv, err)


def test_network_steps_keep_the_network_at_a_low_rate_weight():
    """With a small lambda the step search keeps every synthesis tensor fine (k >= 6) and the output nearly unchanged
    (the entropy model's tensors trade only bits against bits, so an untrained one may go coarse)."""
    from siren.codec.latent_encode import _steps
    torch.manual_seed(2)
    model = LatentImage(Arch(grids=3, width=8, arm=6, arm_layers=1, convs=1), (16, 16))
    with torch.no_grad():
        for g in model.latents:
            g.copy_(torch.round(torch.randn(g.shape) * 3))
        target = model.synthesize(model.features(list(model.latents))).detach()
    ks = _steps(model, target, 1e-7)
    assert min(k for n, k in ks.items() if not n.startswith("entropy")) >= 6
    _load(model, quantize_network(model, ks))
    with torch.no_grad():
        assert float(torch.mean((model.synthesize(model.features(list(model.latents))) - target) ** 2)) < 1e-5
