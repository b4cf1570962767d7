"""Regularisers on hand-built discriminators whose input gradients are known in closed form."""
import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.core.errors import ConfigError
from ganforge.losses import d_loss
from ganforge.losses.regularizers import (
    add_noise,
    gradient_penalty,
    input_gradients,
    instance_noise_std,
    lazy_scale,
    smoothed_d_loss,
    zero_centred_penalty,
)


def linear_d(w: torch.Tensor):
    """D(x) = <w, x> per sample: grad_x D = w everywhere, so ||grad|| = ||w||."""
    return lambda x, y=None: (x.flatten(1) * w.flatten()).sum(dim=1)


def test_input_gradients_of_a_linear_d_are_its_weights():
    w = torch.tensor([3.0, -4.0])
    g = input_gradients(linear_d(w), torch.randn(5, 2))
    assert torch.allclose(g, w.expand(5, 2))


@pytest.mark.parametrize("gamma", [1.0, 10.0])
def test_r1_of_a_linear_d(gamma):
    w = torch.tensor([3.0, -4.0])                       # ||w||^2 = 25
    r1 = zero_centred_penalty(linear_d(w), torch.randn(7, 2), gamma=gamma)
    assert r1.item() == pytest.approx(gamma / 2 * 25.0)


def test_r1_on_images_and_per_sample_gradients():
    # D(x) = 0.5 ||x||^2 per sample: grad = x, so R1 = gamma/2 * mean_i ||x_i||^2
    x = torch.randn(6, 1, 4, 4)
    r1 = zero_centred_penalty(lambda v, y=None: 0.5 * v.flatten(1).square().sum(1), x, gamma=2.0)
    assert r1.item() == pytest.approx(x.flatten(1).square().sum(1).mean().item(), rel=1e-5)


def test_penalty_trains_d_toward_flat_gradients():
    w = torch.tensor([3.0, -4.0], requires_grad=True)
    zero_centred_penalty(linear_d(w), torch.randn(4, 2), gamma=1.0).backward()
    assert torch.allclose(w.grad, w.detach())          # d/dw (1/2 ||w||^2) = w


def test_gradient_penalty_known_values():
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    w = torch.tensor([3.0, -4.0])                       # ||grad|| = 5 at every interpolate
    assert gradient_penalty(linear_d(w), real, fake).item() == pytest.approx(16.0)
    unit = torch.tensor([0.6, 0.8])
    assert gradient_penalty(linear_d(unit), real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_interpolates_between_real_and_fake():
    seen = []

    def d(x, y=None):
        seen.append(x.detach().clone())
        return x.sum(1)
    real, fake = torch.zeros(50, 1), torch.ones(50, 1)
    gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(0))
    e = seen[0]
    assert e.min() >= 0 and e.max() <= 1 and e.std() > 0.1   # random points on the segment
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    quad = lambda x, y=None: x.square().sum(1)  # noqa: E731
    a, b = (gradient_penalty(quad, real, fake, generator=g) for g in (g1, g2))
    assert torch.equal(a, b)


def test_gradient_penalty_is_finite_at_zero_gradient():
    w = torch.zeros(2, requires_grad=True)
    gp = gradient_penalty(linear_d(w), torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    assert gp.item() == pytest.approx(1.0, abs=1e-5) and torch.isfinite(w.grad).all()


def test_lazy_scale():
    assert lazy_scale(torch.tensor(0.25), 16).item() == 4.0


def test_label_smoothing_is_bce_with_soft_real_targets():
    r, f = torch.randn(32), torch.randn(32)
    for kind in ("ns", "minimax"):
        want = (F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9))
                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
        assert smoothed_d_loss(kind, r, f, 0.1).item() == pytest.approx(want.item(), rel=1e-6)
        assert torch.equal(smoothed_d_loss(kind, r, f, 0.0), d_loss(kind, r, f))
    lsgan = smoothed_d_loss("lsgan", r, f, 0.2)
    assert lsgan.item() == pytest.approx(0.5 * ((r - 0.8).square().mean() + f.square().mean()).item(), rel=1e-6)


@pytest.mark.parametrize("kind", ["hinge", "wgan", "rpgan", "ragan"])
def test_label_smoothing_rejects_losses_without_targets(kind):
    with pytest.raises(ConfigError, match="label_smooth"):
        smoothed_d_loss(kind, torch.zeros(2), torch.zeros(2), 0.1)
    smoothed_d_loss(kind, torch.zeros(2), torch.zeros(2), 0.0)  # off is always fine


def test_label_smoothing_range():
    with pytest.raises(ConfigError, match="\\[0, 1\\)"):
        smoothed_d_loss("ns", torch.zeros(2), torch.zeros(2), 1.0)


def test_instance_noise_decays_linearly():
    assert instance_noise_std(0.2, 0, 100) == 0.2
    assert instance_noise_std(0.2, 50, 100) == pytest.approx(0.1)
    assert instance_noise_std(0.2, 100, 100) == 0.0
    assert instance_noise_std(0.2, 500, 100) == 0.0
    assert instance_noise_std(0.2, 500, 0) == 0.2      # 0 = never decays


def test_add_noise_std_and_determinism():
    x = torch.zeros(20000, 2)
    n = add_noise(x, 0.3, torch.Generator().manual_seed(1))
    assert math.isclose(n.std().item(), 0.3, rel_tol=0.02)
    assert torch.equal(n, add_noise(x, 0.3, torch.Generator().manual_seed(1)))
    assert add_noise(x, 0.0) is x
