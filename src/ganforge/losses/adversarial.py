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

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from ..core.registry import LOSSES


@dataclass(frozen=True)
class LossSpec:
    """One adversarial loss: D's and G's sides as pure functions of raw scores."""
    d: Callable[[Tensor, Tensor], Tensor]           # (real scores, fake scores) -> D's loss
    g: Callable[[Tensor, Tensor | None], Tensor]    # (fake scores, real scores or None) -> G's loss
    relativistic: bool = False                      # G's loss needs D's scores of real data


def register_loss(name: str, d, g, relativistic: bool = False) -> LossSpec:
    return LOSSES.register(name, LossSpec(d, g, relativistic))


def _check(kind: str) -> LossSpec:
    return LOSSES.get(kind, "loss.kind")


def is_relativistic(kind: str) -> bool:
    return _check(kind).relativistic


def d_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's loss (to minimise) for one batch of real and one of fake scores."""
    return _check(kind).d(real_logits, fake_logits)


def g_loss(kind: str, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    """The generator's loss (to minimise) for one batch of fake scores; the relativistic kinds
    also take D's scores of a real batch (the same size as the fake batch for ``rpgan``)."""
    spec = _check(kind)
    if spec.relativistic and real_logits is None:
        raise ValueError(f"loss.kind={kind} needs D's scores of real data in G's loss")
    return spec.g(fake_logits, real_logits)


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


# Goodfellow et al. 2014: D minimises BCE(real, 1) + BCE(fake, 0); minimax G minimises
# E[log(1 - sigmoid(f))] = E[-softplus(f)] (saturating), ns G minimises E[-log sigmoid(f)] = E[softplus(-f)].
def _bce_d(r: Tensor, f: Tensor) -> Tensor:
    return F.softplus(-r).mean() + F.softplus(f).mean()


register_loss("minimax", _bce_d, lambda f, r=None: -F.softplus(f).mean())
register_loss("ns", _bce_d, lambda f, r=None: F.softplus(-f).mean())
# Mao et al. 2017 with a=0 (fake), b=1 (real), c=1 (G wants its samples scored as real) on raw scores
register_loss("lsgan", lambda r, f: 0.5 * ((r - 1.0).square().mean() + f.square().mean()),
              lambda f, r=None: 0.5 * (f - 1.0).square().mean())
# Lim & Ye 2017; Miyato et al. 2018. G maximises the critic's score on its samples (as for wgan)
register_loss("hinge", lambda r, f: F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean(), lambda f, r=None: -f.mean())
# Arjovsky et al. 2017: the critic maximises E[D(real)] - E[D(fake)]
register_loss("wgan", lambda r, f: f.mean() - r.mean(), lambda f, r=None: -f.mean())
for _kind in ("rpgan", "ragan"):
    register_loss(_kind, lambda r, f, k=_kind: _relativistic(k, r, f),
                  lambda f, r, k=_kind: _relativistic(k, f, r.detach()), relativistic=True)

RELATIVISTIC = ("rpgan", "ragan")  # the built-in relativistic kinds (is_relativistic asks the registry)
