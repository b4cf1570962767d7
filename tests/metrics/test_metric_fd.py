"""Frechet distance, its cached statistics and FD-infinity."""
import numpy as np
import pytest
import scipy.linalg

from ganforge.core.errors import DataError
from ganforge.metrics import FDStats, fd_infinity, fd_stats, frechet_distance, load_fd_stats, save_fd_stats


def _correlated(rng, n, d, shift=0.0):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return rng.standard_normal((n, d)) @ mix + shift


def _fd_scipy(a, b):
    """Textbook formula with scipy's general matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root).real)


def test_fd_matches_scipy_formula():
    rng = np.random.default_rng(0)
    a, b = _correlated(rng, 500, 20), _correlated(rng, 400, 20, shift=0.3)
    assert frechet_distance(a, b) == pytest.approx(_fd_scipy(a, b), rel=1e-8)


def test_fd_rank_deficient_covariance_matches_eigenvalue_formula():
    # N < D: singular covariances, where a general sqrtm is fragile; compare with the eigenvalues of S_a S_b.
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((30, 50)), rng.standard_normal((40, 50)) + 0.1
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ev = np.clip(scipy.linalg.eigvals(s_a @ s_b).real, 0, None)
    want = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.sqrt(ev).sum()
    assert frechet_distance(a, b) == pytest.approx(want, rel=1e-6)


def test_fd_symmetric_and_zero_for_identical_sets():
    rng = np.random.default_rng(2)
    a, b = _correlated(rng, 300, 16), _correlated(rng, 300, 16, shift=1.0)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert frechet_distance(a, a) < 1e-9 * np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, b) > 10.0  # the shift alone contributes |(1, ..., 1)|^2 = 16


def test_fd_bias_of_two_gaussian_samples():
    # Two independent samples of N from N(0, I_d): E|mu_a - mu_b|^2 = 2d/N, and for large N the trace
    # term is the squared Bures distance of two covariances I + E_a, I + E_b, to second order
    # |E_a - E_b|_F^2 / 4 with E|E|_F^2 = (d^2 + d)/N. Together E[FD] ~ (d^2 + 5d) / (2N), i.e. the
    # well-known d^2/(2N) plus a lower-order term. Measured mean over 10 repeats (d=32, N=2000):
    # within ~1% of 0.296; the std of the mean is ~0.006, so 6% is a 3-sigma band.
    d, n = 32, 2000
    rng = np.random.default_rng(3)
    vals = [frechet_distance(rng.standard_normal((n, d)), rng.standard_normal((n, d))) for _ in range(10)]
    assert np.mean(vals) == pytest.approx((d * d + 5 * d) / (2 * n), rel=0.06)


def test_fd_accepts_cached_stats_and_roundtrips_file(tmp_path):
    rng = np.random.default_rng(4)
    a, b = _correlated(rng, 200, 8), _correlated(rng, 150, 8, shift=0.2)
    stats = fd_stats(a)
    assert stats.n == 200 and stats.sigma.shape == (8, 8)
    save_fd_stats(tmp_path / "ref.safetensors", stats)
    loaded = load_fd_stats(tmp_path / "ref.safetensors")
    assert loaded.n == 200
    assert frechet_distance(loaded, b) == pytest.approx(frechet_distance(a, b), rel=1e-12)
    assert frechet_distance(b, stats) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_fd_stats_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_fd_stats(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="bad.safetensors"):
        load_fd_stats(bad)


def test_fd_rejects_non_psd_covariance():
    rng = np.random.default_rng(5)
    good = fd_stats(rng.standard_normal((100, 4)))
    broken = FDStats(good.mu, good.sigma - 3.0 * np.eye(4), good.n)
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distance(broken, good)


def test_fd_infinity_removes_the_fake_side_bias():
    # Real side large (20k), fake 4k: FD(N=4k) ~ 0.026 is mostly 1/N bias; the intercept keeps only the
    # real side's ~0.004 (measured over seeds: -0.0002 .. 0.013).
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((20000, 16)), rng.standard_normal((4000, 16))
    out = fd_infinity(real, fake, seed=0)
    full = out["fd_inf_points"][-1]
    assert full[0] == 4000 and len(out["fd_inf_points"]) == 10
    assert -0.01 < out["fd_inf"] < 0.6 * full[1]
    assert out["fd_inf_slope"] > 0
    # A mean shift of |delta|^2 = 1: the intercept estimates 1 up to the noise of the sample means
    # (std ~0.05 measured over 8 seeds, mostly the cross term 2 delta.(mean error)); 0.15 = 3 std.
    shifted = fd_infinity(real, fake + 0.25, ns=[1000, 2000, 3000, 4000], seed=0)
    assert shifted["fd_inf"] == pytest.approx(1.0, abs=0.15)
    assert [n for n, _ in shifted["fd_inf_points"]] == [1000, 2000, 3000, 4000]


def test_fd_infinity_bad_sizes():
    rng = np.random.default_rng(7)
    real, fake = rng.standard_normal((100, 3)), rng.standard_normal((50, 3))
    with pytest.raises(ValueError, match="two different sizes"):
        fd_infinity(real, fake, ns=[20, 80])
    with pytest.raises(ValueError, match="two different sizes"):
        fd_infinity(real, fake, ns=[30])
