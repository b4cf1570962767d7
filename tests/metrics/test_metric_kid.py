"""Kernel distance: exact unbiased estimator, behaviour on equal and shifted distributions, subset sizes."""
import numpy as np
import pytest
import torch

from ganforge.metrics import kid


def _mmd2_direct(x, y):
    d, m = x.shape[1], x.shape[0]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / m ** 2)


def test_kid_single_full_subset_is_the_unbiased_mmd():
    # One subset of all samples is a permutation of each set, so KID is the full-set estimator.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((120, 6)), rng.standard_normal((120, 6)) * 1.2 + 0.1
    out = kid(a, b, n_subsets=1, subset_size=120)
    # kernel entries are float32 (summed in float64), so agreement is to float32 rounding
    assert out["kid"] == pytest.approx(_mmd2_direct(a, b), rel=1e-6)
    assert out["kid_std"] == 0.0


def test_kid_same_distribution_is_near_zero():
    # Unbiased: centred on 0. Measured over 5 seeds (50 subsets): |kid| <= 0.0016 with kid_std ~0.004.
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    out = kid(a, b, n_subsets=20, subset_size=500, seed=0)
    assert abs(out["kid"]) < out["kid_std"]
    assert 0 < out["kid_std"] < 0.02


def test_kid_shifted_distribution_is_clearly_positive():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16)) + 0.3
    out = kid(torch.from_numpy(a).float(), torch.from_numpy(b).float(), n_subsets=20, subset_size=500)
    assert out["kid"] > 5 * out["kid_std"] > 0


def test_kid_seeded_and_default_subset_clipped():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((300, 4)), rng.standard_normal((250, 4))
    first = kid(a, b, n_subsets=5, seed=7)  # default subset 1000 clipped to 250
    assert first == kid(a, b, n_subsets=5, seed=7)
    assert first != kid(a, b, n_subsets=5, seed=8)


def test_kid_subset_larger_than_data_is_an_error():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((300, 4)), rng.standard_normal((250, 4))
    with pytest.raises(ValueError, match="subset_size=500 is larger than the smaller feature set") as e:
        kid(a, b, subset_size=500)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="at least 2"):
        kid(a, b, subset_size=1)
