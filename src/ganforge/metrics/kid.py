"""Kernel distance (KID): unbiased squared MMD with a cubic polynomial kernel over random subsets.

Binkowski et al. 2018, "Demystifying MMD GANs": k(x, y) = (x.y / d + 1)^3 and the unbiased estimator

    MMD^2_u = sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1)) - 2 sum_{i,j} k(x_i, y_j) / m^2

on ``n_subsets`` pairs of random subsets of size m (without replacement within a subset). "kid" is the
mean over subsets and "kid_std" the standard deviation of the subset estimates (their spread, not the
standard error of the mean: subsets overlap, so they are not independent). The estimator is unbiased,
so KID of two samples of one distribution is centred on 0 and can be slightly negative.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .knn import MetricInputError, as_torch32, check_pair
from .registry import register

DEFAULT_SUBSET = 1000


def _kernel_sum(x: Tensor, y: Tensor, skip_diagonal: bool) -> Tensor:
    """Sum of k(x_i, y_j) over all pairs (or all pairs i != j), accumulated in float64.

    The kernel entries are float32 (their rounding is tiny and unbiased); the sum, where KID's small
    differences of large totals arise, is float64.
    """
    k = (x @ y.T).mul_(1.0 / x.shape[1]).add_(1.0).pow_(3)  # (m, m)
    total = k.sum(dtype=torch.float64)
    return total - k.diagonal().sum(dtype=torch.float64) if skip_diagonal else total


def _mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    m = x.shape[0]
    same = _kernel_sum(x, x, True) + _kernel_sum(y, y, True)
    return float(same / (m * (m - 1)) - 2.0 * _kernel_sum(x, y, False) / (m * m))


def resolve_subset_size(n_a: int, n_b: int, subset_size: int | None) -> int:
    """None -> min(1000, n_a, n_b); an explicit size must fit in both sets."""
    n_min = min(n_a, n_b)
    if subset_size is None:
        subset_size = min(DEFAULT_SUBSET, n_min)
    elif subset_size > n_min:
        raise MetricInputError(f"KID subset_size={subset_size} is larger than the smaller feature set "
                               f"({n_min} samples); lower the subset size or give more samples")
    if subset_size < 2:
        raise MetricInputError(f"KID needs subsets of at least 2 samples, got {subset_size}")
    return subset_size


def kid(feat_a: Any, feat_b: Any, n_subsets: int = 100, subset_size: int | None = None,
        seed: int = 0) -> dict:
    """{"kid": mean, "kid_std": std} over ``n_subsets`` random subset pairs (see module docstring)."""
    n_a, n_b, _ = check_pair(feat_a, feat_b, min_rows=2)
    if n_subsets < 1:
        raise MetricInputError(f"KID needs at least one subset, got n_subsets={n_subsets}")
    m = resolve_subset_size(n_a, n_b, subset_size)
    a, b = as_torch32(feat_a), as_torch32(feat_b)
    rng = np.random.default_rng(seed)
    vals = np.empty(n_subsets)
    for s in range(n_subsets):
        ia = torch.as_tensor(rng.choice(n_a, m, replace=False))
        ib = torch.as_tensor(rng.choice(n_b, m, replace=False))
        vals[s] = _mmd2_unbiased(a[ia], b[ib])
    std = float(vals.std(ddof=1)) if n_subsets > 1 else 0.0
    return {"kid": float(vals.mean()), "kid_std": std}


@register("kid")
def _kid_metric(real: Any, fake: Any, ctx: dict) -> dict:
    return kid(real, fake, n_subsets=ctx.get("kid_subsets", 100),
               subset_size=ctx.get("kid_subset_size"), seed=ctx.get("seed", 0))
