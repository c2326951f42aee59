"""The families after the paper's (finer, gauss, wire, hashgrid): hints, specs, a tiny fit, their errors, FINER's
activation and derivative, the hash encoding's interpolation."""
from __future__ import annotations

import math

import pytest
import torch

from siren.diff import autograd as ag
from siren.errors import SirenError
from siren.models import (FinerLayer, GaborLayer, GaussLayer, HashEncoding, ModelConfig, build_model,
                          model_from_spec)

FAMILIES = ("finer", "gauss", "wire", "hashgrid")
HINTS = {"hidden_features": 12, "first_omega_0": 7.0, "bandwidth": 40.0, "sidelength": 64}
READ = {"finer": {"hidden_features": 12, "first_omega_0": 7.0}, "gauss": {"hidden_features": 12},
        "wire": {"hidden_features": 12, "first_omega_0": 7.0}, "hashgrid": {"hidden_features": 12}}


@pytest.mark.parametrize("name", FAMILIES)
def test_builds_from_hints_and_round_trips_through_its_spec(name):
    model = build_model(name, 2, 3, hints=HINTS, hidden_layers=1)
    assert model.spec["options"] == {**READ[name], "hidden_layers": 1}
    widths = {m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)}
    assert widths == {12, 3}
    if "first_omega_0" in READ[name]:
        assert model.net[0].omega_0 == 7.0
    again = model_from_spec(model.spec)
    again.load_state_dict(model.state_dict())
    x = torch.rand(9, 2) * 2 - 1
    torch.testing.assert_close(again(x), model(x))


@pytest.mark.parametrize("name,lr", [("finer", 3e-3), ("gauss", 3e-3), ("wire", 3e-3), ("hashgrid", 1e-2)])
def test_fits_a_tiny_signal(name, lr):
    """40 Adam steps on a 1-D signal bring the MSE below a tenth of the initial one."""
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 128)[:, None]
    y = torch.sin(3 * math.pi * x) * (x + 1) / 2 + 0.3 * torch.cos(7 * math.pi * x)
    model = build_model(name, 1, 1, hints={"hidden_features": 32}, hidden_layers=1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(40):
        loss = (model(x) - y).pow(2).mean()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(x) - y).pow(2).mean().item() < 0.1 * first


def test_unknown_family_and_foreign_options_name_the_family():
    with pytest.raises(ValueError, match="unknown model 'finner'"):
        build_model("finner", 2, 1)
    for name, option in [("gauss", "first_omega_0"), ("hashgrid", "scale"), ("finer", "scale"),
                         ("wire", "first_bias_scale")]:
        with pytest.raises(ValueError, match=f"model '{name}' takes no option {option}"):
            build_model(name, 2, 1, **{option: 1.0})
    with pytest.raises(ValueError, match="1 to 3 input dimensions"):
        build_model("hashgrid", 4, 1)


def test_omega_flags_follow_the_families_options():
    assert ModelConfig(model="finer", first_omega_0=10.0, hidden_omega_0=20.0).build_args() == (
        "finer", {"first_omega_0": 10.0, "hidden_omega_0": 20.0})
    assert ModelConfig(model="wire", first_omega_0=5.0).build_args() == ("wire", {"first_omega_0": 5.0})
    for name in ("gauss", "hashgrid", "relu"):
        with pytest.raises(SirenError, match=f"model {name} .*siren, .*finer, .*wire") as err:
            ModelConfig(model=name, hidden_omega_0=3.0).build_args()
        assert err.value.field == "hidden_omega_0"


def test_finer_activation_init_and_true_derivative():
    """sin(omega (|z| + 1) z) of z = W x + b; the first bias spans U(-k, k); autograd's derivative of the layer is
    omega (2|z| + 1) cos(.) W (the scale (|z| + 1) is not detached as in the authors' code)."""
    torch.manual_seed(0)
    layer = FinerLayer(2, 64, omega_0=3.0, is_first=True, bias_scale=4.0).double()
    b = layer.linear.bias
    assert b.abs().max() <= 4.0 and b.abs().max() > 2.0                  # PyTorch's default would be 1/sqrt(2)
    x = (torch.rand(10, 2, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    z = x @ layer.linear.weight.T + b
    y = layer(x)
    torch.testing.assert_close(y, torch.sin(3.0 * (z.abs() + 1) * z), rtol=0, atol=1e-12)
    grad = ag.gradient(y[:, :1], x)[:, 0]                                 # unit 0: dy/dx = f'(z) W[0]
    z0 = z[:, 0].detach()
    expected = (3.0 * (2 * z0.abs() + 1) * torch.cos(3.0 * (z0.abs() + 1) * z0))[:, None] * layer.linear.weight[0]
    torch.testing.assert_close(grad, expected.detach(), rtol=1e-12, atol=1e-12)


def test_gauss_and_gabor_activations():
    torch.manual_seed(0)
    x = torch.rand(10, 3) * 2 - 1
    gauss, gabor = GaussLayer(3, 8, scale=2.0), GaborLayer(3, 8, omega_0=5.0, scale=2.0)
    zg, zw = gauss.linear(x), gabor.linear(x)
    torch.testing.assert_close(gauss(x), torch.exp(-4.0 * zg * zg))
    torch.testing.assert_close(gabor(x), torch.cos(5.0 * zw) * torch.exp(-4.0 * zw * zw))


def _encoding(d):
    """Levels of resolution 4, 8, 16, 32 with 2^8 entries: dense levels 0, 1 (25, 81 vertices for d = 2), hashed
    2, 3; O(1) random features."""
    torch.manual_seed(0)
    enc = HashEncoding(d, levels=4, table_size=2 ** 8, features_per_level=2, base_resolution=4,
                       growth_factor=2.0).double()
    with torch.no_grad():
        enc.tables.normal_()
    return enc


def _row(v, n, d, table_size):
    """The paper's index of vertex v (integers) at resolution n, written out."""
    if (n + 1) ** d <= table_size:
        return sum(vi * (n + 1) ** i for i, vi in enumerate(v))
    h = 0
    for vi, p in zip(v, (1, 2654435761, 805459861)):
        h ^= vi * p
    return h % table_size


@pytest.mark.parametrize("d", [1, 2, 3])
def test_hash_encoding_is_exact_at_the_vertices(d):
    enc = _encoding(d)
    g = torch.Generator().manual_seed(1)
    for level, n in enumerate((4, 8, 16, 32)):
        vertices = torch.randint(0, n + 1, (20, d), generator=g)
        vertices[0] = n                                                    # the far corner x = (1, ..., 1)
        vertices[1] = 0
        out = enc(2 * vertices.double() / n - 1)[:, 2 * level: 2 * level + 2]
        rows = [_row(v.tolist(), n, d, 2 ** 8) for v in vertices]
        torch.testing.assert_close(out, enc.tables[level, rows].detach(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_hash_encoding_is_continuous_across_cell_faces(d):
    """Either side of a face x_0 = const of the finest grid (the other coordinates anywhere), the encoding
    agrees to O(eps), though the two sides interpolate different cells (their features differ by O(1))."""
    enc = _encoding(d)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(50, d, generator=g, dtype=torch.float64) * 2 - 1
    x[:, 0] = 2 * torch.randint(1, 32, (50,), generator=g).double() / 32 - 1
    step = torch.zeros(d, dtype=torch.float64)
    step[0] = 1.0
    below, above = enc(x - 1e-9 * step), enc(x + 1e-9 * step)
    assert (below - above).abs().max() < 1e-6
    assert (enc(x + step / 32) - below).abs().max() > 0.1                 # half a finest cell on: O(1) change
