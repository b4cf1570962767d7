"""Adversarial losses: pure functions from raw discriminator scores (logits) to a scalar.

Every form is written with softplus / relu on raw scores, never log(sigmoid(.)), so logits of
+-100 stay finite. Identities used: -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t).
Real and fake batches are averaged separately, so they may differ in size, except in the
relativistic pairing loss, which scores real example i against generated example i.

The relativistic losses (Jolicoeur-Martineau 2019) judge realness relative to the other kind: D
learns that real data is more real than generated data, and G that its samples are more real than
real data. G's loss then needs D's scores of a real batch too.
- ``rpgan``: pairs, D minimises E[softplus(-(r_i - f_i))], G minimises E[softplus(-(f_i - r_i))]
  (RSGAN in the paper; the RpGAN of Huang et al. 2024, "The GAN is dead; long live the GAN!").
- ``ragan``: each score against the mean of the other batch (RaSGAN in the paper):
  D minimises E[softplus(-(r - mean f))] + E[softplus(f - mean r)], G the same with roles swapped.
"""
from __future__ import annotations

import difflib

import torch.nn.functional as F
from torch import Tensor

from ..core.errors import ConfigError

LOSSES = ("minimax", "ns", "lsgan", "hinge", "wgan", "rpgan", "ragan")
RELATIVISTIC = ("rpgan", "ragan")  # G's loss needs D's scores of real data


def _check(kind: str) -> None:
    if kind not in LOSSES:
        close = difflib.get_close_matches(str(kind), LOSSES, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"loss.kind = {kind!r} is not one of: {', '.join(LOSSES)}{hint}")


def d_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss (to minimise) for one batch of real and one of fake scores."""
    _check(kind)
    r, f = real_logits, fake_logits
    if kind in RELATIVISTIC:
        return _relativistic(kind, r, f)
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


def g_loss(kind: str, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """The generator's loss (to minimise) for one batch of fake scores; the relativistic kinds
    also take D's scores of a real batch (the same size as the fake batch for ``rpgan``)."""
    _check(kind)
    f = fake_logits
    if kind in RELATIVISTIC:
        if real_logits is None:
            raise ValueError(f"loss.kind={kind} needs D's scores of real data in G's loss")
        return _relativistic(kind, f, real_logits.detach())
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


def relative_scores(kind: str, fake_logits: Tensor, real_logits: Tensor) -> Tensor:
    """What G's relativistic loss sees per generated sample: f_i - r_i (pairs) or f_i - mean(r)."""
    if kind == "rpgan":
        if fake_logits.shape != real_logits.shape:
            raise ValueError(f"loss.kind=rpgan pairs real and generated scores one to one; got "
                             f"{tuple(real_logits.shape)} real and {tuple(fake_logits.shape)} generated")
        return fake_logits - real_logits
    return fake_logits - real_logits.mean()


def _relativistic(kind: str, a: Tensor, b: Tensor) -> Tensor:
    """The loss of the side whose scores are ``a`` (to be judged more real than ``b``)."""
    if kind == "rpgan":
        return F.softplus(-relative_scores(kind, a, b)).mean()
    # ragan: a above b's mean, and b below a's mean
    return F.softplus(-(a - b.mean())).mean() + F.softplus(b - a.mean()).mean()
