import pytest
import torch

from siren import Siren
from siren.models import BatchedSiren, build_model, model_from_spec
from siren.models.batched import siren_forward

ARCH = dict(hidden_features=24, hidden_layers=2, first_omega_0=30.0, hidden_omega_0=20.0)


@pytest.mark.parametrize("outermost_linear", [True, False])
def test_loaded_members_are_the_separate_sirens(device, outermost_linear):
    """B Siren state dicts loaded into the batch: each member computes its Siren, for per-member and shared coords."""
    sirens = [Siren(2, out_features=3, outermost_linear=outermost_linear, **ARCH).to(device) for _ in range(4)]
    batch = BatchedSiren(2, out_features=3, outermost_linear=outermost_linear, num_signals=4, **ARCH).to(device)
    batch.load_members(sirens)
    x = torch.rand(4, 50, 2, device=device) * 2 - 1
    out = batch(x)
    assert out.shape == (4, 50, 3)
    for b, s in enumerate(sirens):
        torch.testing.assert_close(out[b], s(x[b]), rtol=1e-5, atol=1e-5)
    shared = batch(x[0])
    for b, s in enumerate(sirens):
        torch.testing.assert_close(shared[b], s(x[0]), rtol=1e-5, atol=1e-5)


def test_functional_form_matches_the_paper_formula():
    """siren_forward against the formula written out: sin(omega (W h + c)) layers, last one linear."""
    ws = [torch.randn(2, 5, 3), torch.randn(2, 5, 5), torch.randn(2, 1, 5)]
    cs = [torch.randn(2, 5), torch.randn(2, 5), torch.randn(2, 1)]
    x = torch.rand(2, 7, 3)
    out = siren_forward(x, ws, cs, [3.0, 2.0, None])
    for b in range(2):
        h = torch.sin(3.0 * (x[b] @ ws[0][b].T + cs[0][b]))
        h = torch.sin(2.0 * (h @ ws[1][b].T + cs[1][b]))
        torch.testing.assert_close(out[b], h @ ws[2][b].T + cs[2][b])


def test_init_per_member_equals_seeded_siren():
    """Member b = a Siren built right after torch.manual_seed(seeds[b]); seeds=None = Sirens built in a row."""
    def same_parameters(member, siren):
        for (k, v), (k2, v2) in zip(member.state_dict().items(), siren.state_dict().items(), strict=True):
            assert k == k2 and torch.equal(v, v2), k

    batch = BatchedSiren(2, out_features=1, num_signals=3, seeds=[7, 3, 7], **ARCH)
    for b, seed in enumerate([7, 3, 7]):
        torch.manual_seed(seed)
        same_parameters(batch.member(b), Siren(2, out_features=1, **ARCH))
    torch.manual_seed(5)
    in_a_row = [Siren(2, out_features=1, **ARCH) for _ in range(3)]
    torch.manual_seed(5)
    batch = BatchedSiren(2, out_features=1, num_signals=3, **ARCH)
    for b in range(3):
        same_parameters(batch.member(b), in_a_row[b])
    assert not torch.equal(batch.weights[0][0], batch.weights[0][1])


def test_member_extracts_a_standalone_siren(device):
    batch = BatchedSiren(2, out_features=2, num_signals=3, **ARCH).to(device)
    x = torch.rand(40, 2, device=device) * 2 - 1
    for b in range(3):
        member = batch.member(b)
        assert isinstance(member, Siren) and member.spec["name"] == "siren"
        torch.testing.assert_close(member(x), batch(x)[b], rtol=1e-5, atol=1e-5)


def test_members_share_no_gradient():
    """d(loss of member 1)/d(parameters of members 0 and 2) = 0: the members are independent networks."""
    batch = BatchedSiren(2, out_features=1, num_signals=3, **ARCH)
    batch(torch.rand(3, 10, 2))[1].pow(2).sum().backward()
    for p in batch.parameters():
        assert p.grad[1].abs().sum() > 0
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0


def test_registry_spec_roundtrip():
    m = build_model("siren", 2, 3, kind="batched", hidden_features=16, hidden_layers=1, num_signals=2, seeds=[0, 1])
    assert m.spec["options"]["seeds"] == [0, 1]
    rebuilt = model_from_spec(m.spec)
    rebuilt.load_state_dict(m.state_dict())
    x = torch.rand(2, 9, 2)
    torch.testing.assert_close(rebuilt(x), m(x))
    with pytest.raises(ValueError, match="no option"):
        build_model("siren", 2, 1, kind="batched", num_frequencies=3)
    with pytest.raises(ValueError, match="one seed per signal"):
        build_model("siren", 2, 1, kind="batched", num_signals=2, seeds=[0])
