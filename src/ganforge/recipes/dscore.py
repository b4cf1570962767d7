"""Scoring a real and a generated batch with one discriminator call when that changes nothing.

One forward over cat(real, fake) gives each convolution twice the batch (larger, more efficient
matrix products), one call's worth of per-layer overhead and, with spectral norm, one power
iteration per D step instead of two. It is only exact when no layer mixes real and generated
examples. Batch norm (statistics over the batch) would, so D with batch norm is called twice.
Minibatch standard deviation (a feature computed across the batch) is told the two batch sizes
and computes its feature within each, so it gives what two calls give, in one.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nets import MinibatchStdDev


def mixes_batch(D: nn.Module) -> bool:
    """True when some layer of D makes one example's output depend on the others in a joined call."""
    flag = getattr(D, "_ganforge_mixes_batch", None)
    if flag is None:
        flag = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
        D._ganforge_mixes_batch = flag  # the architecture does not change during a run
    return flag


def _mbstd_layers(D: nn.Module) -> list[MinibatchStdDev]:
    layers = getattr(D, "_ganforge_mbstd", None)
    if layers is None:
        layers = [m for m in D.modules() if isinstance(m, MinibatchStdDev)]
        D._ganforge_mbstd = layers
    return layers


def score_real_fake(D: nn.Module, real: Tensor, fake: Tensor, y_real: Tensor | None,
                    y_fake: Tensor | None) -> tuple[Tensor, Tensor]:
    """(D(real, y_real), D(fake, y_fake)) as raw scores (B_real,), (B_fake,)."""
    if mixes_batch(D):
        return D(real, y_real), D(fake, y_fake)
    y = None if y_real is None else torch.cat([y_real, y_fake])
    mbstd = _mbstd_layers(D)
    for m in mbstd:
        m.segments = [real.shape[0], fake.shape[0]]
    try:
        scores = D(torch.cat([real, fake]), y)                              # (B_real + B_fake,)
    finally:
        for m in mbstd:
            m.segments = None
    real_scores, fake_scores = scores.split([real.shape[0], fake.shape[0]])
    return real_scores, fake_scores


__all__ = ["score_real_fake", "mixes_batch"]
