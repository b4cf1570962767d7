"""Adversarial losses: pure functions from raw discriminator scores (logits) to a scalar.

Every form is written with softplus / relu on raw scores, never log(sigmoid(.)), so logits of
+-100 stay finite. Identities used: -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t).
Real and fake batches are averaged separately, so they may differ in size.
"""
from __future__ import annotations

import difflib

import torch.nn.functional as F
from torch import Tensor

from ..core.errors import ConfigError

LOSSES = ("minimax", "ns", "lsgan", "hinge", "wgan")


def _check(kind: str) -> None:
    if kind not in LOSSES:
        close = difflib.get_close_matches(str(kind), LOSSES, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"loss.kind = {kind!r} is not one of: {', '.join(LOSSES)}{hint}")


def d_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss (to minimise) for one batch of real and one of fake scores."""
    _check(kind)
    r, f = real_logits, fake_logits
    if kind in ("minimax", "ns"):
        # Goodfellow et al. 2014: BCE(real, 1) + BCE(fake, 0)
        return F.softplus(-r).mean() + F.softplus(f).mean()
    if kind == "lsgan":
        # Mao et al. 2017 with a=0 (fake), b=1 (real) on raw scores
        return 0.5 * ((r - 1.0).square().mean() + f.square().mean())
    if kind == "hinge":
        # Lim & Ye 2017; Miyato et al. 2018
        return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
    # wgan: Arjovsky et al. 2017, the critic maximises E[D(real)] - E[D(fake)]
    return f.mean() - r.mean()


def g_loss(kind: str, fake_logits: Tensor) -> Tensor:
    """The generator's loss (to minimise) for one batch of fake scores."""
    _check(kind)
    f = fake_logits
    if kind == "minimax":
        # saturating form: minimise E[log(1 - sigmoid(f))] = E[-softplus(f)]
        return -F.softplus(f).mean()
    if kind == "ns":
        # non-saturating form: minimise E[-log sigmoid(f)] = E[softplus(-f)]
        return F.softplus(-f).mean()
    if kind == "lsgan":
        # c=1: G wants its samples scored as real
        return 0.5 * (f - 1.0).square().mean()
    # hinge and wgan: G maximises the critic's score on its samples
    return -f.mean()
