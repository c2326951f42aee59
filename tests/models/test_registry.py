import math

import pytest
import torch
from torch import nn

from siren.models import MODEL_NAMES, FourierFeatures, PositionalEncoding, build_model, model_from_spec


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_every_model_maps_coords(name, d):
    m = build_model(name, d, 3, hidden_features=16, hidden_layers=1)
    assert m(torch.rand(7, d) * 2 - 1).shape == (7, 3)
    assert m.spec["name"] == name


def test_paper_baselines_required_by_issue():
    assert {"siren", "relu", "relu_pe", "rff", "tanh", "softplus", "elu", "selu", "rbf"} <= set(MODEL_NAMES)


def test_unknown_name_and_option_raise():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("sine", 2, 1)
    with pytest.raises(ValueError, match="no option"):
        build_model("relu", 2, 1, first_omega_0=30)
    with pytest.raises(ValueError, match="no option"):
        build_model("siren", 2, 1, num_frequencies=4)


def test_spec_roundtrip_gives_same_function():
    m = build_model("rff", 2, 1, hidden_features=8, hidden_layers=1, scale=3.0)
    m2 = model_from_spec(m.spec)
    m2.load_state_dict(m.state_dict())
    x = torch.rand(5, 2)
    torch.testing.assert_close(m(x), m2(x))


@pytest.mark.parametrize("side,freqs", [(256, 6), (512, 7), (64, 4), (16, 2)])
def test_positional_encoding_nyquist_rule(side, freqs):
    m = build_model("relu_pe", 2, 1, sidelength=side)
    assert m.net[0].num_frequencies == freqs == math.floor(math.log2(side / 4))
    assert build_model("relu_pe", 3, 1).net[0].num_frequencies == 10


def test_positional_encoding_values():
    pe = PositionalEncoding(2, 3)
    x = torch.tensor([[0.25, -0.5]])
    out = pe(x)[0]
    assert out.shape == (2 * (1 + 2 * 3),)
    torch.testing.assert_close(out[:2], x[0])
    # frequency i=2: sin(4 pi x) for both dims, then cos
    torch.testing.assert_close(out[2 + 4 * 2: 2 + 4 * 2 + 2], torch.sin(4 * math.pi * x[0]))
    torch.testing.assert_close(out[2 + 4 * 2 + 2: 2 + 4 * 3], torch.cos(4 * math.pi * x[0]))


def test_fourier_features_are_unit_norm_pairs():
    ff = FourierFeatures(2, 32, scale=5.0)
    out = ff(torch.rand(10, 2))
    torch.testing.assert_close(out[:, :32] ** 2 + out[:, 32:] ** 2, torch.ones(10, 32))
    assert abs(ff.B.std().item() - 5.0) < 1.5


@pytest.mark.parametrize("name,var", [("relu", 2.0), ("softplus", 2.0), ("selu", 1.0), ("elu", 1.5505)])
def test_baseline_inits_fan_in_variance(name, var):
    torch.manual_seed(0)
    m = build_model(name, 2, 1, hidden_features=512, hidden_layers=1)
    hidden = [l for l in m.net if isinstance(l, nn.Linear)][1]
    assert abs(hidden.weight.var().item() * 512 / var - 1) < 0.05


def test_xavier_for_tanh():
    m = build_model("tanh", 2, 1, hidden_features=512, hidden_layers=1)
    hidden = [l for l in m.net if isinstance(l, nn.Linear)][1]
    assert abs(hidden.weight.var().item() * (512 + 512) / 2 - 1) < 0.05
