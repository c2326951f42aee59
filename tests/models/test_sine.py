import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from siren import Siren
from siren.models import ActivatedLinear
from siren.stats import layer_statistics

GOLDEN = Path(__file__).parents[1] / "data" / "physicsnemo" / "test_siren_plain.npz"


def test_paper_init_bounds():
    """First layer U(-1/n, 1/n); every later layer, outermost linear included, U(+-sqrt(6/n)/omega)."""
    m = Siren(3, 64, 2, 5, first_omega_0=30, hidden_omega_0=20)
    linears = [l.linear if isinstance(l, ActivatedLinear) else l for l in m.net]
    assert isinstance(m.net[-1], nn.Linear) and len(linears) == 4
    w0 = linears[0].weight
    assert w0.abs().max() <= 1 / 3 and w0.abs().max() > 0.9 / 3
    for lin in linears[1:]:
        bound = math.sqrt(6 / 64) / 20
        assert lin.weight.abs().max() <= bound and lin.weight.abs().max() > 0.9 * bound
        # uniform: variance bound^2 / 3
        assert abs(lin.weight.var().item() / (bound ** 2 / 3) - 1) < 0.15


def test_omega_multiplies_bias_and_last_layer_linear():
    m = Siren(2, 8, 1, 1, first_omega_0=7.0, hidden_omega_0=3.0)
    x = torch.randn(10, 2)
    l0, l1, l2 = m.net
    expected = l2(torch.sin(3.0 * l1.linear(torch.sin(7.0 * (x @ l0.linear.weight.T + l0.linear.bias)))))
    torch.testing.assert_close(m(x), expected)


def test_outermost_sine():
    m = Siren(1, 8, 1, 2, outermost_linear=False)
    assert isinstance(m.net[-1], ActivatedLinear)
    assert m(torch.randn(100, 1)).abs().max() <= 1


def test_matches_physicsnemo_golden_forward():
    """Conformance with a SIREN forward pass computed outside this project (distinct first/hidden omega)."""
    d = np.load(GOLDEN)
    m = Siren(2, int(d["layer_size"]), int(d["nr_layers"]) - 1, 1, first_omega_0=float(d["first_omega"]),
              hidden_omega_0=float(d["omega"]))
    with torch.no_grad():
        for i, layer in enumerate(m.net):
            lin = layer.linear if isinstance(layer, ActivatedLinear) else layer
            lin.weight.copy_(torch.from_numpy(d[f"fc{i}_weights"]).T)
            lin.bias.copy_(torch.from_numpy(d[f"fc{i}_biases"]))
        out = m(torch.from_numpy(d["data_in"])).numpy()
    np.testing.assert_allclose(out, d["data_out"], rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def demo_stats():
    """The paper's demo network: 1 -> 2048, 10 hidden layers, input linspace(-1, 1)."""
    torch.manual_seed(0)
    m = Siren(1, 2048, 10, 1)
    return layer_statistics(m, torch.linspace(-1, 1, 2048)[:, None], sample=50_000)


def test_init_preactivations_standard_normal_at_every_depth(demo_stats):
    """Hidden pre-activations ~ N(0, 1): KS distance < 0.03 and std within 10% of 1 (the bias adds
    omega^2/(3n) = 0.15 of variance at width 2048). The first layer is meant to span many periods."""
    assert len(demo_stats) == 11
    for s in demo_stats[1:]:
        assert s["ks_preactivation"] < 0.03, s
        assert abs(s["pre_std"] - 1) < 0.1 and abs(s["pre_mean"]) < 0.1
    assert demo_stats[0]["pre_std"] > 5


def test_init_activations_arcsine_at_every_depth(demo_stats):
    """sin of the pre-activation is arcsine-distributed on [-1, 1]: KS < 0.06 at every depth, std ~ 1/sqrt(2)."""
    for s in demo_stats:
        assert s["ks_activation"] < 0.06, s
        assert abs(s["act_std"] - 1 / math.sqrt(2)) < 0.05


def test_naive_init_breaks_the_distribution():
    from siren.stats import naive_siren
    rows = layer_statistics(naive_siren(512, 3), torch.linspace(-1, 1, 1024)[:, None], sample=20_000)
    assert all(r["ks_preactivation"] > 0.3 for r in rows[1:])


@pytest.mark.parametrize("name", ["siren", "finer", "tanh"])
def test_modulated_network_forward_mode_equals_autograd(name):
    """FiLM shifts from a latent (one per point, one per signal, one for all): forward-mode value, gradient and
    Laplacian equal autograd's in float64; the zero latent is the unmodulated network."""
    from siren.diff import Request, autograd_derivatives, derivatives
    from siren.models import build_model
    torch.manual_seed(0)
    model = build_model(name, 2, 3, hidden_features=16, hidden_layers=2, latent_features=5).double()
    with torch.no_grad():
        model.modulation.bias.normal_()
    x = torch.rand(4, 30, 2, dtype=torch.float64) * 2 - 1
    request = Request(gradient=True, laplacian=True)
    for latent in (torch.randn(4, 30, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64),
                   torch.randn(5, dtype=torch.float64)):
        got = derivatives(model, x, request, latent=latent, mode="forward")
        flat = latent.unsqueeze(-2).expand(4, 30, 5) if latent.dim() == 2 else latent.expand(4, 30, 5)
        ref = autograd_derivatives(lambda c: model(c, flat.reshape(-1, 5)), x.reshape(-1, 2), request)
        torch.testing.assert_close(got.value.reshape(-1, 3), ref.value)
        torch.testing.assert_close(got.gradient.reshape(-1, 3, 2), ref.gradient)
        torch.testing.assert_close(got.laplacian().reshape(-1, 3), ref.laplacian())
        torch.testing.assert_close(model(x, latent), got.value)
    plain = build_model(name, 2, 3, hidden_features=16, hidden_layers=2).double()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("modulation")}
    plain.load_state_dict(state)
    with torch.no_grad():
        model.modulation.bias.zero_()
    torch.testing.assert_close(model(x, torch.zeros(5, dtype=torch.float64)), plain(x))
