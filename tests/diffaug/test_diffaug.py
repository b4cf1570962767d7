"""DiffAugment ops and the ADA controller."""
import pytest
import torch

from ganforge.core.errors import ConfigError
from ganforge.diffaug import OPS, ADAController, augment, cutout, parse_policy, translation


def images(n=6, c=3, side=8, seed=0):
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("name", list(OPS))
def test_op_keeps_shape_is_differentiable_and_seeded(name):
    x = images().requires_grad_(True)
    out = OPS[name](x, 1.0, torch.Generator().manual_seed(5))
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    again = OPS[name](x.detach(), 1.0, torch.Generator().manual_seed(5))
    other = OPS[name](x.detach(), 1.0, torch.Generator().manual_seed(6))
    assert torch.equal(out.detach(), again)
    assert not torch.equal(again, other)


@pytest.mark.parametrize("name", list(OPS))
def test_p_zero_is_identity_and_draws_as_many_numbers(name):
    x = images()
    g0, g1 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    assert torch.allclose(OPS[name](x, 0.0, g0), x, atol=1e-6)
    OPS[name](x, 1.0, g1)
    assert torch.equal(g0.get_state(), g1.get_state())   # resume replays the stream whatever p is


def test_probability_applies_per_image():
    x = images(n=400, c=1)
    out = cutout(x, 0.5, torch.Generator().manual_seed(0))
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert 0.4 < changed < 0.6


def test_translation_is_a_shift_with_zero_fill():
    x = images(n=10, c=1)
    out = translation(x, 1.0, torch.Generator().manual_seed(3))   # side 8: shifts in [-1, 1]
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(10):
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                  if torch.equal(out[i, 0], pad[i, 0, 1 - dy:9 - dy, 1 - dx:9 - dx])]
        assert shifts, f"image {i} is not a shifted copy"


def test_cutout_blanks_a_half_size_square():
    x = torch.ones(50, 1, 8, 8)
    out = cutout(x, 1.0, torch.Generator().manual_seed(0))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() <= 16 and zeros.min() >= 4           # a 4x4 square, maybe cut by the border
    assert ((out == 0) | (out == 1)).all()


def test_augment_applies_the_policy_in_order():
    x = images()
    g = torch.Generator().manual_seed(1)
    want = OPS["cutout"](OPS["color"](x, 1.0, g), 1.0, g)
    assert torch.equal(augment(x, "color,cutout", 1.0, torch.Generator().manual_seed(1)), want)
    with pytest.raises(ValueError, match="images"):
        augment(torch.zeros(4, 2), "color")


def test_parse_policy():
    assert parse_policy(" color, cutout ") == ("color", "cutout")
    assert parse_policy("") == ()
    with pytest.raises(ConfigError, match="colour"):
        parse_policy("colour")


def test_ada_moves_p_up_when_d_overfits_and_down_otherwise():
    ada = ADAController(target=0.6, interval=4, speed=1000, batch=50, p=0.0)
    step_size = 50 * 4 / 1000
    for step in range(8):                                  # D scores every real positive: r_t = 1
        ada.observe(torch.ones(50))
        ada.step(step)
    assert ada.p.item() == pytest.approx(2 * step_size)
    assert ada.r_t.item() == 1.0
    for step in range(8, 20):                              # D unsure: r_t = 0 < target
        ada.observe(torch.tensor([1.0, -1.0] * 25))
        ada.step(step)
    assert ada.p.item() == 0.0                             # clamped at 0
    ada.p = torch.tensor(0.99)
    for step in range(4):
        ada.observe(torch.ones(50))
        ada.step(step)
    assert ada.p.item() == 1.0                             # clamped at 1


def test_ada_updates_only_on_its_interval():
    ada = ADAController(target=0.6, interval=4, speed=100, batch=10, p=0.5)
    ada.observe(torch.ones(10))
    assert not ada.step(0) and ada.p.item() == 0.5
    assert ada.step(3) and ada.p.item() > 0.5


def test_ada_state_round_trip_keeps_partial_sums():
    a = ADAController(target=0.6, interval=4, speed=100, batch=10, p=0.3)
    a.observe(torch.tensor([1.0, 1.0, -1.0]))
    b = ADAController(target=0.6, interval=4, speed=100, batch=10)
    b.load_state_dict(a.state_dict())
    for c in (a, b):
        c.observe(torch.ones(5))
        c.step(3)
    assert a.state_dict() == b.state_dict() and a.p.item() != 0.3
