"""Discriminator regularisers and input noise: pure functions, tensors in, scalar or tensor out.

``D`` is any callable ``D(x, y) -> raw scores (N,)``; ``x`` is exactly what D sees (already
augmented and packed), so a penalty constrains the function D really computes.

- ``gradient_penalty``: WGAN-GP, E[(||grad D(x_hat)||_2 - 1)^2] on random interpolates of real and
  fake (Gulrajani et al. 2017, "Improved training of Wasserstein GANs").
- ``zero_centred_penalty``: gamma/2 * E[||grad D(x)||^2]; on real data it is R1, on generated data
  R2 (Mescheder et al. 2018, "Which training methods for GANs do actually converge?").
- ``path_length_penalty``: E[(||J_w^T u||_2 - a)^2] with u an image-shaped N(0, I) / sqrt(H * W) and a a
  running mean of the lengths (Karras et al. 2020, StyleGAN2, eq. 4), for generators with a W space.
- ``lazy_scale``: a penalty evaluated only every k steps is multiplied by k so its average pull
  matches the every-step form (Karras et al. 2020, StyleGAN2, "lazy regularisation").
- ``smoothed_d_loss``: one-sided label smoothing, real target 1 - s (Salimans et al. 2016).
- ``instance_noise_std`` / ``add_noise``: Gaussian instance noise with a linear decay (Sonderby et
  al. 2017, "Amortised MAP inference for image super-resolution").
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import ConfigError
from .adversarial import _check, d_loss

DFn = Callable[[Tensor, "Tensor | None"], Tensor]
SMOOTHABLE = ("minimax", "ns", "lsgan")  # the losses that have a target label to soften


def input_gradients(D: DFn, x: Tensor, y: Tensor | None = None) -> Tensor:
    """d(sum_i D(x_i)) / dx, flattened per sample: (N, features). Keeps the graph for backward.

    Summing the scores gives each sample's own gradient because samples do not interact in D
    (a minibatch-stddev layer adds small cross terms, as in every implementation using it)."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x, y).sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(D: DFn, real: Tensor, fake: Tensor, y: Tensor | None = None,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2], x_hat = e*real + (1-e)*fake, e ~ U[0, 1] per sample."""
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty needs real and fake of one shape, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator,
                   device=real.device, dtype=real.dtype)                 # (N, 1, ...)
    x_hat = e * real.detach() + (1.0 - e) * fake.detach()
    g = input_gradients(D, x_hat, y)
    norm = (g.square().sum(dim=1) + 1e-12).sqrt()  # the epsilon keeps the backward finite at 0
    return (norm - 1.0).square().mean()


def zero_centred_penalty(D: DFn, x: Tensor, y: Tensor | None = None, gamma: float = 1.0) -> Tensor:
    """gamma/2 * E[||grad D(x)||^2]: R1 when x is real, R2 when x is generated."""
    return 0.5 * gamma * input_gradients(D, x, y).square().sum(dim=1).mean()


def path_length_penalty(x: Tensor, w: Tensor, pl_mean: Tensor, decay: float = 0.01,
                        generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """(penalty, new running mean). ``x`` (N, C, H, W) must be computed from ``w`` (N, num_ws, w_dim) with its
    graph kept; ``pl_mean`` is the running mean of the lengths so far (a scalar tensor, 0 at the start), moved
    toward this batch's mean by ``decay`` before the penalty is taken, as StyleGAN2 does."""
    u = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) / math.sqrt(x.shape[2] * x.shape[3])
    (grad,) = torch.autograd.grad((x * u).sum(), w, create_graph=True)       # (N, num_ws, w_dim)
    lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()                     # (N,)
    mean = pl_mean.lerp(lengths.detach().mean(), decay)
    return (lengths - mean).square().mean(), mean


def lazy_scale(penalty: Tensor, interval: int) -> Tensor:
    """A penalty applied every ``interval`` steps, scaled so its mean effect per step is unchanged."""
    return penalty * float(interval)


def check_label_smoothing(kind: str, smooth: float) -> None:
    """Hinge and WGAN scores have no target label, so "1 - s" means nothing for them: refuse."""
    _check(kind)
    if smooth == 0:
        return
    if not 0.0 < smooth < 1.0:
        raise ConfigError(f"reg.label_smooth must be in [0, 1), got {smooth}")
    if kind not in SMOOTHABLE:
        raise ConfigError(f"reg.label_smooth works with loss.kind minimax, ns or lsgan (targets 0/1); "
                          f"loss.kind={kind} has no target label: set reg.label_smooth=0")


def smoothed_d_loss(kind: str, real_logits: Tensor, fake_logits: Tensor, smooth: float = 0.0) -> Tensor:
    """The discriminator loss with real targets 1 - s (fake targets stay 0: one-sided).

    minimax/ns: BCE(real, 1 - s) = (1-s)*softplus(-r) + s*softplus(r); lsgan: 0.5*(r - (1-s))^2."""
    check_label_smoothing(kind, smooth)
    if smooth == 0:
        return d_loss(kind, real_logits, fake_logits)
    r, f = real_logits, fake_logits
    if kind == "lsgan":
        return 0.5 * ((r - (1.0 - smooth)).square().mean() + f.square().mean())
    real_term = (1.0 - smooth) * F.softplus(-r) + smooth * F.softplus(r)
    return real_term.mean() + F.softplus(f).mean()


def instance_noise_std(std0: float, step: int, decay_steps: int) -> float:
    """std0 at step 0, falling linearly to 0 at ``decay_steps`` (0 = constant std0)."""
    if decay_steps <= 0:
        return std0
    return std0 * max(0.0, 1.0 - step / decay_steps)


def add_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """x + N(0, std^2) noise drawn from ``generator``; x itself when std is 0."""
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


__all__ = ["input_gradients", "gradient_penalty", "zero_centred_penalty", "path_length_penalty",
           "lazy_scale", "smoothed_d_loss",
           "check_label_smoothing", "instance_noise_std", "add_noise", "SMOOTHABLE"]
