import math

import pytest
import torch

from ganforge.core.errors import ConfigError
from ganforge.losses import LOSSES, RELATIVISTIC, d_loss, g_loss, relative_scores

LOG2 = math.log(2.0)


def t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32)


def test_loss_names():
    assert set(LOSSES) == {"minimax", "ns", "lsgan", "hinge", "wgan", "rpgan", "ragan"}
    assert set(RELATIVISTIC) <= set(LOSSES)


@pytest.mark.parametrize("kind, real, fake, expected", [
    ("minimax", t(0.0), t(0.0), 2 * LOG2),            # BCE at logit 0 is log 2, twice
    ("ns", t(0.0, 0.0), t(0.0), 2 * LOG2),
    ("ns", t(2.0), t(-1.0), math.log1p(math.exp(-2)) + math.log1p(math.exp(-1))),
    ("lsgan", t(1.0), t(0.0), 0.0),                    # perfect least-squares critic
    ("lsgan", t(0.0), t(1.0), 1.0),                    # 0.5 * (1 + 1)
    ("lsgan", t(3.0, 1.0), t(-2.0), 0.5 * (2.0 + 4.0)),
    ("hinge", t(0.0), t(0.0), 2.0),
    ("hinge", t(2.0), t(-2.0), 0.0),                   # outside the margin on both sides
    ("hinge", t(0.5, 3.0), t(0.5), 0.25 + 1.5),
    ("wgan", t(3.0), t(1.0), -2.0),
    ("wgan", t(1.0, 3.0), t(0.0, 0.0, 6.0), 0.0),      # batches averaged separately
    ("rpgan", t(1.0), t(1.0), LOG2),                   # a pair scored alike
    ("rpgan", t(2.0, 0.0), t(0.0, 2.0), 0.5 * (math.log1p(math.exp(-2)) + math.log1p(math.exp(2)))),
    ("ragan", t(0.0), t(0.0), 2 * LOG2),
    # r - mean f = (0, 2), f - mean r = (-2, 0): mean softplus(-(0, 2)) + mean softplus((-2, 0))
    ("ragan", t(1.0, 3.0), t(0.0, 2.0), LOG2 + math.log1p(math.exp(-2))),
])
def test_d_loss_known_values(kind, real, fake, expected):
    assert d_loss(kind, real, fake).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("kind, fake, expected", [
    ("minimax", t(0.0), -LOG2),                        # log(1 - 1/2)
    ("minimax", t(1.0), math.log(1 - 1 / (1 + math.exp(-1)))),
    ("ns", t(0.0), LOG2),                              # -log(1/2)
    ("ns", t(-1.0, 1.0), 0.5 * (math.log1p(math.e) + math.log1p(math.exp(-1)))),
    ("lsgan", t(1.0), 0.0),
    ("lsgan", t(-1.0), 2.0),
    ("hinge", t(-3.0, 1.0), 1.0),
    ("wgan", t(2.0), -2.0),
])
def test_g_loss_known_values(kind, fake, expected):
    assert g_loss(kind, fake).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("kind, fake, real, expected", [
    ("rpgan", t(0.0), t(0.0), LOG2),
    ("rpgan", t(3.0, -1.0), t(1.0, 1.0), 0.5 * (math.log1p(math.exp(-2)) + math.log1p(math.exp(2)))),
    # G's side: f - mean r = (2, -2), r - mean f = (0, 0)
    ("ragan", t(3.0, -1.0), t(1.0, 1.0), 0.5 * (math.log1p(math.exp(-2)) + math.log1p(math.exp(2))) + LOG2),
])
def test_relativistic_g_loss_known_values(kind, fake, real, expected):
    assert g_loss(kind, fake, real).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("kind", RELATIVISTIC)
def test_relativistic_losses_see_only_differences(kind):
    # a constant added to every score changes nothing: only real-against-generated counts
    r, f = torch.randn(6), torch.randn(6)
    assert d_loss(kind, r + 5, f + 5).item() == pytest.approx(d_loss(kind, r, f).item(), abs=1e-5)
    assert g_loss(kind, f - 3, r - 3).item() == pytest.approx(g_loss(kind, f, r).item(), abs=1e-5)
    # and G's loss is D's loss with the roles swapped
    assert g_loss(kind, f, r).item() == pytest.approx(d_loss(kind, f, r).item(), abs=1e-6)


def test_relativistic_g_loss_needs_real_scores_and_pairs():
    with pytest.raises(ValueError, match="real data"):
        g_loss("rpgan", t(0.0))
    with pytest.raises(ValueError, match="one to one"):
        g_loss("rpgan", t(0.0, 1.0), t(0.0))
    assert relative_scores("ragan", t(1.0, 3.0), t(0.0, 2.0)).tolist() == [0.0, 2.0]
    # real scores are constants to G: no gradient flows back into them
    r = torch.zeros(3, requires_grad=True)
    g_loss("rpgan", torch.zeros(3, requires_grad=True), r).backward()
    assert r.grad is None


def test_minimax_g_matches_log_one_minus_sigmoid_in_safe_range():
    f = torch.linspace(-5, 5, 11)
    ref = torch.log(1 - torch.sigmoid(f)).mean()
    assert torch.allclose(g_loss("minimax", f), ref, atol=1e-5)
    ref_d = -(torch.log(torch.sigmoid(f)).mean() + torch.log(1 - torch.sigmoid(-f)).mean())
    assert torch.allclose(d_loss("ns", f, -f), ref_d, atol=1e-5)


@pytest.mark.parametrize("kind", LOSSES)
def test_gradient_signs(kind):
    # D pushes real scores up and fake scores down; G pushes fake scores up (at 0.5, inside
    # every margin and away from lsgan's fake target 0)
    r = torch.full((4,), 0.5, requires_grad=True)
    f = torch.full((4,), 0.5, requires_grad=True)
    d_loss(kind, r, f).backward()
    assert (r.grad < 0).all() and (f.grad > 0).all()
    f2 = torch.full((4,), 0.5, requires_grad=True)
    g_loss(kind, f2, torch.full((4,), 0.5)).backward()
    assert (f2.grad < 0).all()


def test_saturation_behaviour():
    # where D confidently rejects fakes, the saturating loss has almost no gradient; ns does not
    f1 = torch.full((1,), -10.0, requires_grad=True)
    g_loss("minimax", f1).backward()
    f2 = torch.full((1,), -10.0, requires_grad=True)
    g_loss("ns", f2).backward()
    assert abs(f1.grad.item()) < 1e-4 and f2.grad.item() == pytest.approx(-1.0, abs=1e-4)


@pytest.mark.parametrize("kind", LOSSES)
def test_stable_at_extreme_logits(kind):
    big = torch.tensor([100.0, -100.0, 100.0, -100.0], requires_grad=True)
    big_f = torch.tensor([-100.0, 100.0, 100.0, -100.0], requires_grad=True)
    d = d_loss(kind, big, big_f)
    g = g_loss(kind, big_f, big)
    (d + g).backward()
    for v in (d, g, big.grad, big_f.grad):
        assert torch.isfinite(v).all()


def test_extreme_values_are_exact_not_clamped():
    # softplus form: -log sigmoid(-100) = 100, which a clamped log(sigmoid) would miss
    assert g_loss("ns", t(-100.0)).item() == pytest.approx(100.0)
    assert d_loss("minimax", t(-100.0), t(100.0)).item() == pytest.approx(200.0)
    assert d_loss("ns", t(100.0), t(-100.0)).item() == pytest.approx(0.0, abs=1e-6)
    assert g_loss("minimax", t(100.0)).item() == pytest.approx(-100.0)


def test_scalar_output():
    for kind in LOSSES:
        n_fake = 5 if kind == "rpgan" else 7           # rpgan pairs scores one to one
        assert d_loss(kind, torch.randn(5), torch.randn(n_fake)).dim() == 0
        assert g_loss(kind, torch.randn(n_fake), torch.randn(5)).dim() == 0


def test_unknown_kind_raises_config_error():
    with pytest.raises(ConfigError, match="did you mean 'hinge'"):
        d_loss("hinj", t(0.0), t(0.0))
    with pytest.raises(ConfigError, match="lsgan"):
        g_loss("bce", t(0.0))
